"""The agent's RDV pages, one module per page family: the agendas (`agenda`), posing an RDV from
the agenda (`booking`), « Trouver un créneau » (`creneaux`), the usagers step they share
(`usagers_step`), and « Tous les RDVs » with an RDV's summary, « modifier », its statuses and
« supprimer » (`rdv`)."""
