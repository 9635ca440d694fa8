from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        from agents.services import REMOVAL_BLOCKERS
        from planning.blockers import current_plages

        if current_plages not in REMOVAL_BLOCKERS:
            REMOVAL_BLOCKERS.append(current_plages)
