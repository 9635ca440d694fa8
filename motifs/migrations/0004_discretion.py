"""Discretion in messages: the référentiel's sensitive names, and per motif whether its name is
shown in the messages to usagers. Existing motifs show it unless their name is sensitive."""

from django.db import migrations, models

# The names of motifs.models.SENSITIVE_NAMES when this migration was written (a migration does
# not follow later edits of the constant).
SENSITIVE_NAMES = [
    "Information préoccupante",
    "Consultation de planification familiale",
    "Demande d'aide financière",
    "Accompagnement budgétaire",
    "Accompagnement RSA",
]


def mark_sensitive(apps, schema_editor):
    MotifCategory = apps.get_model("motifs", "MotifCategory")
    Motif = apps.get_model("motifs", "Motif")
    MotifCategory.objects.filter(name__in=SENSITIVE_NAMES).update(sensitive=True)
    Motif.objects.filter(category__sensitive=True).update(show_name_in_messages=False)


class Migration(migrations.Migration):
    dependencies = [("motifs", "0003_sectorisation_level")]

    operations = [
        migrations.AddField(
            model_name="historicalmotif",
            name="show_name_in_messages",
            field=models.BooleanField(default=True, verbose_name="Afficher le nom du motif dans les messages"),
        ),
        migrations.AddField(
            model_name="motif",
            name="show_name_in_messages",
            field=models.BooleanField(default=True, verbose_name="Afficher le nom du motif dans les messages"),
        ),
        migrations.AddField(
            model_name="motifcategory",
            name="sensitive",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Le nom révèle une situation personnelle (protection de l'enfance, contraception, difficultés "
                    "financières…) : les motifs créés avec ce nom ne l'affichent pas dans les messages aux usagers."
                ),
                verbose_name="sensible",
            ),
        ),
        migrations.RunPython(mark_sensitive, migrations.RunPython.noop),
    ]
