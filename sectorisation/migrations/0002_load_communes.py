"""Every commune of France, from the shipped CSV (sectorisation/data/communes.csv), through the
historical models and the loader that `manage.py load_communes` uses. About a second; every test
database runs it."""

from django.db import migrations

from sectorisation.loading import load_communes


def load(apps, schema_editor):
    load_communes(
        commune_model=apps.get_model("sectorisation", "Commune"),
        former_model=apps.get_model("sectorisation", "FormerCommune"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('sectorisation', '0001_initial'),
    ]

    operations = [
        # Going back leaves the rows: 0001's reversal drops the tables.
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
