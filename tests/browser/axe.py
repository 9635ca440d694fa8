"""axe-core on a page in the browser, from the copy shipped inside axe-playwright-python's wheel:
nothing is fetched from a CDN."""

from axe_playwright_python.sync_playwright import Axe

# Moderate and minor findings (a landmark missing, a heading level skipped) are for review; these
# two impacts keep a person out: a form they cannot fill, a text they cannot read.
FAILING_IMPACTS = frozenset({"serious", "critical"})
AXE = Axe()


def violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.wait_for_load_state("load")
    results = AXE.run(page)
    return [violation for violation in results.response["violations"] if violation["impact"] in FAILING_IMPACTS]


def install(context) -> None:
    """axe-core in every page the context opens: `start` then runs it without sending its script
    (half a megabyte) to each page again."""
    context.add_init_script(AXE.axe_script)


def start(page) -> None:
    """Starts axe-core on the page (of a context where it is `install`ed) without waiting for it:
    several pages, each in its own renderer, are checked at once; `finished` reads the results."""
    page.wait_for_load_state("load")
    page.evaluate("() => { window.__axeResults = axe.run(document, {resultTypes: ['violations']}); }")


def finished(page) -> list[dict]:
    """The serious and critical violations axe-core found on the page since `start`."""
    results = page.evaluate("window.__axeResults")
    return [violation for violation in results["violations"] if violation["impact"] in FAILING_IMPACTS]


def describe(violation: dict) -> str:
    targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}"


def assert_accessible(page) -> None:
    """Fails with axe-core's serious and critical violations of the page: id, help, targets."""
    found = violations(page)
    assert not found, f"{page.url}\n" + "\n".join(describe(violation) for violation in found)
