"""Who may see and change usagers.

Every agent of the organisation, whatever its service or level, uses the base of usagers: the
secrétariat books RDVs for all services, a PMI agent may follow a parent of the social service.
An agent sees an usager only through its own organisation (its profile there); another
organisation's usager is a 404, the same answer as one that does not exist. Being signed in with
a role in the organisation of the URL is checked once by CurrentOrganisationMiddleware.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from agents.permissions import Membership
from usagers.models import Usager, UsagerQuerySet


def usagers_visible_to(membership: Membership) -> UsagerQuerySet:
    return Usager.objects.visible_in(membership.organisation)


def with_visible_responsible(usagers: UsagerQuerySet, membership: Membership) -> UsagerQuerySet:
    """Prefetch each proche's responsible, only when the organisation knows it: a proche whose
    responsible is followed elsewhere only shows `responsible = None` (one query for all)."""
    return usagers.prefetch_related(Prefetch("responsible", queryset=usagers_visible_to(membership)))


def access_usager(membership: Membership, pk: int) -> Usager:
    """The usager `pk` if the membership's organisation knows it, else 404."""
    return get_object_or_404(usagers_visible_to(membership).select_related("responsible"), pk=pk)
