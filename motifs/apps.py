from django.apps import AppConfig


class MotifsConfig(AppConfig):
    name = "motifs"
    verbose_name = "Motifs"
