from django.db import migrations

from motifs.models import REFERENTIEL


def create_referentiel(apps, schema_editor):
    MotifCategory = apps.get_model("motifs", "MotifCategory")
    Service = apps.get_model("organisations", "Service")
    services = {service.short_name: service for service in Service.objects.all()}
    for name, service_short_name in REFERENTIEL:
        MotifCategory.objects.get_or_create(name=name, defaults={"service": services.get(service_short_name)})


class Migration(migrations.Migration):
    dependencies = [
        ("motifs", "0001_initial"),
        ("organisations", "0002_default_services"),
    ]

    operations = [migrations.RunPython(create_referentiel, migrations.RunPython.noop)]
