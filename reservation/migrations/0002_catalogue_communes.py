"""The communes and their former codes follow the catalogue's number too: what a page resolves
from the commune answered (reservation.catalogue.commune) is kept under it. Only the loader of
the communes (sectorisation's data migration, `manage.py load_communes`) writes these tables."""

from django.db import migrations

TABLES = ["sectorisation_commune", "sectorisation_formercommune"]

FORWARD = [
    f"""CREATE TRIGGER reservation_catalogue_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION reservation_catalogue_changed()"""
    for table in TABLES
]

BACKWARD = [f"DROP TRIGGER reservation_catalogue_changed ON {table}" for table in TABLES]


class Migration(migrations.Migration):
    dependencies = [
        ("reservation", "0001_catalogue_version"),
        ("sectorisation", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
