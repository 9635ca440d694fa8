from django.apps import AppConfig


class SectorisationConfig(AppConfig):
    name = "sectorisation"
    verbose_name = "Sectorisation"
