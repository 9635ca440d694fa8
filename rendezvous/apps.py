from django.apps import AppConfig


class RendezvousConfig(AppConfig):
    name = "rendezvous"
    verbose_name = "Rendez-vous"

    def ready(self) -> None:
        from agents.services import REMOVAL_BLOCKERS
        from rendezvous.blockers import future_rdvs

        if future_rdvs not in REMOVAL_BLOCKERS:
            REMOVAL_BLOCKERS.append(future_rdvs)
