"""What the fuzz (tests/fuzz/test_hostile_input.py) posts to: the input surface of every URL
pattern, read from the pages themselves. Every page of the access matrix's world is opened by an
actor allowed to see it; each <form> found there (GET or POST) and each link that carries a query
string is attributed to the URL pattern it points to, with the names of its fields, the kind of
each (text, date, select…) and the values the page offers. A form added to any page is thus fuzzed
without being listed anywhere; the payloads of the access matrix (tests/access_payloads.py) add the
fields a page shows only at a later step."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from django.urls import Resolver404, resolve

GET, POST = "GET", "POST"
# The input types whose value is typed freely; the others (checkbox, radio, hidden) carry the
# value the page wrote.
BUTTONS = ("submit", "button", "reset", "image")


@dataclass
class Field:
    """One field of a surface: its kind (`text`, `textarea`, `select`, `checkbox`, `date`,
    `file`…), the values the pages offered for it, whether it may be sent several times."""

    kind: str = "text"
    values: set[str] = field(default_factory=set)
    multiple: bool = False

    def merge(self, other: "Field") -> None:
        if self.kind in ("text", "hidden") and other.kind not in ("text", "hidden"):
            self.kind = other.kind
        self.values |= other.values
        self.multiple |= other.multiple


@dataclass
class Form:
    method: str
    action: str  # the URL it sends to, resolved against the page's
    fields: dict[str, Field] = field(default_factory=dict)

    def add(self, name: str, found: Field) -> None:
        if name in self.fields:
            self.fields[name].merge(found)
            # The same name twice in one form (checkboxes, a multiple select): sent as a list.
            self.fields[name].multiple |= found.kind in ("checkbox", "select-multiple")
        else:
            self.fields[name] = found


class PageReader(HTMLParser):
    """The forms and the query strings of the links of one page."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: tuple[str, Field] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "option" and self._select is not None:
            if attrs.get("value"):
                self._select[1].values.add(attrs["value"])
        elif tag == "form":
            method = POST if attrs.get("method", "").lower() == "post" else GET
            self._form = Form(method, urljoin(self.url, attrs.get("action", "")) if attrs.get("action") else self.url)
            self.forms.append(self._form)
        elif tag == "a" and "?" in attrs.get("href", ""):
            self.links.append(urljoin(self.url, attrs["href"]))
        elif self._form is None or not attrs.get("name"):
            return
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in BUTTONS:
                # A named button is a field of the form: which one was pressed.
                self._form.add(attrs["name"], Field("choice", {attrs["value"]} if "value" in attrs else set()))
            else:
                value = attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
                self._form.add(attrs["name"], Field(kind, {value} if value else set()))
        elif tag == "button":
            self._form.add(attrs["name"], Field("choice", {attrs["value"]} if "value" in attrs else set()))
        elif tag == "textarea":
            self._form.add(attrs["name"], Field("textarea"))
        elif tag == "select":
            multiple = "multiple" in attrs
            self._form.add(attrs["name"], Field("select-multiple" if multiple else "select", multiple=multiple))
            self._select = (attrs["name"], self._form.fields[attrs["name"]])  # its options go there

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def read_page(url: str, html: str) -> tuple[list[Form], list[str]]:
    reader = PageReader(url)
    reader.feed(html)
    reader.close()
    return reader.forms, reader.links


def pattern_of(url: str) -> str | None:
    """The name of the URL pattern a form or link points to (None: another site, or no page)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver"):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    return match.view_name


@dataclass
class Surfaces:
    """Per (pattern name, method), the fields found, and where (for the failures' messages)."""

    fields: dict[tuple[str, str], dict[str, Field]] = field(default_factory=dict)
    found_on: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # What the fuzz keeps of a field it leaves as is: the payload the page accepts, the query
    # string it is opened with.
    bases: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    # The status of the fuzz's actor's request with the base: a 405 (not the page's method) is
    # answered before any field is read, and gets a few examples only.
    answers: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, name: str, method: str, fields: dict[str, Field], page: str) -> None:
        surface = self.fields.setdefault((name, method), {})
        for key, found in fields.items():
            if key in surface:
                surface[key].merge(found)
            else:
                surface[key] = Field(found.kind, set(found.values), found.multiple)
        self.found_on.setdefault((name, method), set()).add(page)

    def read(self, page_name: str, url: str, html: str) -> None:
        forms, links = read_page(url, html)
        for form in forms:
            target = pattern_of(form.action)
            if target is not None:
                self.add(target, form.method, form.fields, page_name)
                query = dict(parse_qsl(urlsplit(form.action).query))
                if query:
                    self.add(target, GET, {key: Field("hidden", {value}) for key, value in query.items()}, page_name)
        for link in links:
            target = pattern_of(link)
            query = parse_qsl(urlsplit(link).query, keep_blank_values=True)
            if target is not None and query:
                fields = {key: Field("hidden", {value} if value else set()) for key, value in query}
                self.add(target, GET, fields, page_name)

    def of(self, name: str, method: str) -> dict[str, Field]:
        return self.fields.get((name, method), {})
