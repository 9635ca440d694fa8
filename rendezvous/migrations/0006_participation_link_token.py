import secrets

from django.db import migrations, models

import rendezvous.models


def fill_tokens(apps, schema_editor):
    Participation = apps.get_model("rendezvous", "Participation")
    batch = []
    for participation in Participation.objects.only("pk").iterator(chunk_size=2000):
        participation.link_token = secrets.token_urlsafe(9)
        batch.append(participation)
        if len(batch) == 2000:
            Participation.objects.bulk_update(batch, ["link_token"])
            batch = []
    Participation.objects.bulk_update(batch, ["link_token"])


class Migration(migrations.Migration):
    dependencies = [("rendezvous", "0005_booking_token")]

    operations = [
        migrations.AddField(
            model_name="participation",
            name="link_token",
            field=models.CharField(max_length=16, null=True, verbose_name="jeton du lien usager"),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="participation",
            name="link_token",
            field=models.CharField(
                default=rendezvous.models.new_link_token, max_length=16, unique=True, verbose_name="jeton du lien usager"
            ),
        ),
    ]
