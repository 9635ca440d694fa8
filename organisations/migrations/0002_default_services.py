from django.db import migrations

from organisations.models import DEFAULT_SERVICES


def create_services(apps, schema_editor):
    Service = apps.get_model("organisations", "Service")
    for name, short_name, is_secretariat in DEFAULT_SERVICES:
        Service.objects.get_or_create(
            short_name=short_name, defaults={"name": name, "is_secretariat": is_secretariat}
        )


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]

    operations = [migrations.RunPython(create_services, migrations.RunPython.noop)]
