"""What tests of « modifier » share: the form's data for an RDV, and plages over its day."""

import datetime as dt

from django.utils import timezone

from tests.planning.factories import PlageOuvertureFactory


def form_data(rdv, **changes):
    local = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo)
    data = {
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "duration_in_min": rdv.duration_in_min,
        "lieu": rdv.lieu_id or "",
        "agents": [a.pk for a in rdv.agents.all()],
        "usagers": [u.pk for u in rdv.usagers.all()],
        "context": rdv.context,
    }
    data.update(changes)
    return data


def open_day(rdv, *agents):
    """Plages d'ouverture of `agents` over the RDV's day, 8:00 to 20:00: no « outside the plages »
    conflict."""
    for agent in agents:
        PlageOuvertureFactory(
            organisation=rdv.organisation,
            agent=agent,
            first_day=timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo).date(),
            start_time=dt.time(8),
            end_time=dt.time(20),
        )
