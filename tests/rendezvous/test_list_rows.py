"""« Tous les RDVs » writes its rows' HTML in Python (rendezvous.agenda.html.list_rows_html): the same
HTML as the template that wrote them before, kept here as the reference (its status badge as
rendezvous/_status_badge.html wrote it then), for every status, names that need escaping, a row
without lieu and the row of today."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test.html import parse_html
from django.utils import timezone

from motifs.models import Motif
from organisations.models import Lieu, Service
from rendezvous.agenda.html import list_rows_html
from rendezvous.listing import ListRow, ListWords
from rendezvous.models import Rdv
from tests.helpers import PARIS

# The rows as list.html wrote them until 7 December 2026 (its « Statut du RDV » options from the
# former rendezvous/_status_options.html, its badge from the former _status_badge.html).
FORMER_ROWS = Template(
    """{% for row in rows %}
    <tr{% if row.is_today %} id="aujourdhui"{% endif %}>
      <td>
        <div class="fr-checkbox-group fr-checkbox-group--sm">
          <input type="checkbox" id="choix-{{ row.rdv.pk }}" name="rdvs" value="{{ row.rdv.pk }}" form="statuts-groupes">
          <label class="fr-label" for="choix-{{ row.rdv.pk }}"><span class="fr-sr-only">Choisir le RDV du {{ row.when }} ({{ row.rdv.motif.name }})</span></label>
        </div>
      </td>
      <td><a href="{{ row.detail_url }}">{{ row.day_and_when }}</a><br><span class="fr-text--xs">{{ row.rdv.duration_in_min }} min</span></td>
      <td>{{ row.rdv.motif.name }}<br><span class="fr-text--xs"><abbr title="{{ row.rdv.motif.service.name }}">{{ row.rdv.motif.service.short_name }}</abbr> · {{ row.location_type }}</span></td>
      <td>{{ row.usagers }}</td>
      <td>{{ row.agents }}</td>
      <td>{% if row.rdv.lieu %}{{ row.rdv.lieu.name }}{% else %}{{ row.location_type }}{% endif %}</td>
      <td>
        {% with status=row.rdv.status %}<p class="fr-badge fr-badge--sm{% if status == 'seen' %} fr-badge--success{% elif status == 'noshow' %} fr-badge--error{% elif status == 'excused' or status == 'revoked' %} fr-badge--warning{% elif status == 'waiting' %} fr-badge--info{% else %} fr-badge--new{% endif %} fr-badge--no-icon">{{ row.display_status }}</p>{% endwith %}
        <form method="post" action="{{ row.status_url }}" class="fr-mt-1w">
          {% csrf_token %}
          <input type="hidden" name="next" value="{{ list_url }}">
          <label class="fr-sr-only" for="statut-{{ row.rdv.pk }}">Statut du RDV du {{ row.when }}</label>
          <select class="fr-select fr-select--sm" id="statut-{{ row.rdv.pk }}" name="status">
            {% for value, label in statuses %}<option value="{{ value }}"{% if value == row.rdv.status %} selected{% endif %}>{{ label }}</option>{% endfor %}
          </select>
          <button type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary fr-mt-1v">Changer le statut</button>
        </form>
      </td>
    </tr>
    {% endfor %}"""  # noqa: E501 (the former template, as it was)
)
FORMER_BADGE = Template(
    "<p class=\"fr-badge fr-badge--sm{% if status == 'seen' %} fr-badge--success{% elif status == 'noshow' %}"
    " fr-badge--error{% elif status == 'excused' or status == 'revoked' %} fr-badge--warning"
    "{% elif status == 'waiting' %} fr-badge--info{% else %} fr-badge--new{% endif %} fr-badge--no-icon\">"
    "{{ label }}</p>\n"
)
NOW = dt.datetime(2026, 12, 7, 11, 0, tzinfo=PARIS)
HOSTILE = "<script>alert('x')</script> & \"Léa\""


def rows() -> list[ListRow]:
    words = ListWords.of(7)
    service = Service(name='PMI "Protection" & <maternelle>', short_name="PMI <b>")
    found = []
    for n, status in enumerate(Rdv.Status.values):
        for lieu in (Lieu(name=f"MDS {HOSTILE}"), None):
            motif = Motif(name=f"Consultation {HOSTILE}", location_type=Motif.LocationType.PHONE, service=service)
            rdv = Rdv(
                pk=100 + 2 * n + (lieu is None),
                organisation_id=7,
                status=status,
                starts_at=NOW + dt.timedelta(days=n - 3, minutes=35 * n),
                duration_in_min=30 + n,
                motif=motif,
                lieu=lieu,
            )
            found.append(
                ListRow.of(
                    rdv,
                    NOW,
                    words,
                    is_today=n == 3 and lieu is None,
                    agents=[f"Agent {HOSTILE}", "Marie Curie"],
                    usagers=[] if n == 2 else [f"DUPONT {HOSTILE}"],
                )
            )
    return found


@pytest.mark.parametrize("list_url", ["/organisations/7/rdvs/", "/organisations/7/rdvs/?statut=seen&motif=3&q=\"<'>&"])
def test_the_rows_are_the_html_the_template_wrote(list_url):
    token = "jeton<&>'\"csrf"
    with timezone.override(PARIS):
        listed = rows()
        former = FORMER_ROWS.render(
            Context({"rows": listed, "list_url": list_url, "csrf_token": token, "statuses": Rdv.Status.choices})
        )
        written = list_rows_html(listed, ListWords.of(7), csrf_token=token, list_url=list_url)
    assert parse_html(written) == parse_html(former)
    # Every status, with and without lieu; the hostile names escaped, never as markup.
    assert written.count("<tr") == 2 * len(Rdv.Status.values)
    assert "<script>" not in written and "&lt;script&gt;" in written
    assert written.count(' id="aujourdhui"') == 1


@pytest.mark.parametrize("status", [*Rdv.Status.values, "", "à renseigner"])
def test_the_badge_the_other_pages_print_is_the_one_it_was(status):
    """rendezvous/_status_badge.html (an RDV's page, an usager's RDVs) follows the rule the rows
    follow (`rendezvous.agenda.blocks.badge_class`): the same HTML as its former conditions."""
    context = {"status": status, "label": HOSTILE}
    assert render_to_string("rendezvous/_status_badge.html", context) == FORMER_BADGE.render(Context(context))
