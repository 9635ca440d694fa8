"""The plages' exceptions follow the catalogue's number too: the agents who could take a créneau
(reservation.selection.Selection.possible_agents) are those whose occurrence that day covers
it, exceptions included (a cancelled or moved occurrence), kept under the number."""

from django.db import migrations

TABLES = ["planning_plageouvertureexception"]

FORWARD = [
    f"""CREATE TRIGGER reservation_catalogue_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION reservation_catalogue_changed()"""
    for table in TABLES
]

BACKWARD = [f"DROP TRIGGER reservation_catalogue_changed ON {table}" for table in TABLES]


class Migration(migrations.Migration):
    dependencies = [
        ("reservation", "0002_catalogue_communes"),
        ("planning", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
