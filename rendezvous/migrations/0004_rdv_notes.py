from django.db import migrations


class Migration(migrations.Migration):
    """`Rdv.context` was labelled « notes » everywhere it shows: the field takes that name."""

    dependencies = [("rendezvous", "0003_rdv_org_created_at_index")]

    operations = [
        migrations.RenameField(model_name="rdv", old_name="context", new_name="notes"),
        migrations.RenameField(model_name="historicalrdv", old_name="context", new_name="notes"),
    ]
