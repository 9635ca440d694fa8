from motifs.models import Motif
from planning import demo as planning_demo
from planning.models import PlageOuverture


def test_the_step_does_not_crash_without_motifs(db):
    from agents import demo as agents_demo
    from organisations import demo as organisations_demo

    ctx: dict = {}
    organisations_demo.build(ctx)
    agents_demo.build(ctx)
    assert not Motif.objects.exists()
    planning_demo.build(ctx)
    assert not PlageOuverture.objects.exists()
