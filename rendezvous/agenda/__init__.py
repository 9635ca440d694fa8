"""The agendas' engine: what « Vos agendas » and « Journée de l'équipe » draw, the views aside
(`rendezvous.views.agenda`). Times are wall-clock times of the organisation's time zone: a 9:00
RDV sits on the 9:00 row on the days clocks change too.

- `periods`: the days a view shows (`Period`: jour, semaine, mois), their window of local days,
  the wall-clock minutes of a day an interval covers, and the date and hour labels.
- `queries`: what the pages read for a window, in a fixed number of SQL queries whatever the
  number of RDVs or agents (RDVs, plages, absences, times held by other organisations, the
  agents whose agenda may be opened).
- `blocks`: one RDV as every agenda shows it (`RdvBlock`, texts precomputed; `Labels`).
- `bands`: plages, absences and times held by other organisations, clipped to a day (`Band`).
- `layout`: pure functions and dataclasses from those rows to what the templates draw (columns
  per day or per agent positioned in `rem`, lanes of RDVs whose boxes would overlap, RDVs during
  an absence, the « Toute la journée » row, the month's weeks); no query, no HTML.
- `html`: the RDV blocks (link and tooltip) and time cells, built by hand for speed and marked
  safe: the one module of the project that does so.

Import from the module that owns a name; this package re-exports nothing.
"""
