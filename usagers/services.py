"""Operations on usagers that touch several models: the usager, its profile in the organisation,
its proches, and their history."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from agents.models import Agent
from notifications.models import Notification
from organisations.models import Organisation
from rdv import historical
from rdv.db import columns, model_from_row
from usagers.models import EmailCode, Usager, UsagerAccount, UsagerProfile, normalise_email


@transaction.atomic
def create_usager(
    *,
    organisation: Organisation,
    usager: Usager,
    referents: Iterable[Agent],
    notes: str,
    created_by: str = Usager.CreatedBy.AGENT,
) -> Usager:
    """Saves a new usager (responsible or proche, as built by its form) and makes it known to
    `organisation`, with that organisation's notes and référents."""
    if usager.responsible is not None and usager.responsible.is_proche:
        raise ValueError("Un proche ne peut pas avoir lui-même de proches.")
    usager.created_by = created_by
    usager.save()
    profile = UsagerProfile.objects.create(usager=usager, organisation=organisation, notes=notes)
    profile.referents.set(referents)
    return usager


# Known already: nothing written (the profile is left as it is, its notes and référents included).
# New: inserted. Removed by an agent (`deleted_at`): given back. One statement, whoever books at the
# same time (two tabs of the same family): the second waits for the first's row, then finds it.
# `xmax = 0` is true of a row this statement inserted, false of one it updated.
KNOWN_TO_SQL = f"""
INSERT INTO {UsagerProfile._meta.db_table} AS profile (usager_id, organisation_id, notes, created_at, deleted_at)
VALUES (%(usager)s, %(organisation)s, '', %(now)s, NULL)
ON CONFLICT (usager_id, organisation_id) DO UPDATE SET deleted_at = NULL WHERE profile.deleted_at IS NOT NULL
RETURNING {columns(UsagerProfile, "profile")}, profile.xmax = 0
"""


# In the caller's transaction when there is one (a booking's): a savepoint of its own would be two
# more round trips for nothing.
@transaction.atomic(savepoint=False)
def make_known_to(*, usager: Usager, organisation: Organisation) -> None:
    """The usager (who booked online) becomes known to the organisation: its profile there is
    created, or given back if an agent had removed it, each with its line of history. In the
    caller's transaction (a booking's), in one statement: an usager known already, the usual case,
    costs that one round trip (get_or_create cost five for a new profile: its read, a savepoint
    around the insert, the insert, the history, the savepoint's release)."""
    parameters: dict[str, Any] = {"usager": usager.pk, "organisation": organisation.pk, "now": timezone.now()}
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_TO_SQL, parameters)
        row = cursor.fetchone()
    if row is None:
        return
    *values, created = row
    profile = model_from_row(UsagerProfile, values)
    # Created: no référents yet. Given back: its référents, as kept.
    historical.record(profile, "+" if created else "~", m2m_rows={"referents": []} if created else None)


@transaction.atomic
def create_proche(
    *, responsible: Usager, organisation: Organisation, proche: Usager, referents: Iterable[Agent], notes: str
) -> Usager:
    """A proche of `responsible`, known to the same organisation. Its notifications go to its
    responsible, so it carries no contact details nor preferences of its own."""
    proche.responsible = responsible
    proche.email, proche.phone = "", ""
    return create_usager(organisation=organisation, usager=proche, referents=referents, notes=notes)


@transaction.atomic
def update_usager(
    *,
    usager: Usager,
    profile: UsagerProfile,
    changed_fields: Iterable[str],
    referents: Iterable[Agent],
    notes: str,
) -> None:
    """Saves what changed, and only that: each save is one line of the fiche's history."""
    identity_changes = [name for name in changed_fields if name not in ("referents", "notes")]
    if identity_changes:
        usager.save()
    if profile.notes != notes:
        profile.notes = notes
        profile.save(update_fields=["notes"])
    profile.referents.set(referents)


@transaction.atomic
def remove_usager_from_organisation(*, usager: Usager, organisation: Organisation) -> int:
    """« Supprimer »: the usager (and, for a responsible, its proches) leaves the organisation's
    base. Nothing is erased at once: RDVs keep their usager, and other organisations keep theirs;
    anonymise_usagers erases the data when the retention period has passed. Returns how many
    usagers were removed."""
    now = timezone.now()
    profiles = UsagerProfile.objects.filter(organisation=organisation, deleted_at__isnull=True).filter(
        Q(usager=usager) | Q(usager__responsible=usager)
    )
    removed = 0
    for profile in profiles.select_for_update(of=("self",)):
        profile.deleted_at = now
        profile.save(update_fields=["deleted_at"])
        removed += 1
    return removed


ANONYMOUS_FIRST_NAME = "Usager"
ANONYMOUS_LAST_NAME = "Anonymisé"


@transaction.atomic
def anonymise_families(*, responsible_ids: list[int]) -> int:
    """Erases the personal data of these responsibles and of their proches, and their history
    (which holds the same data). What statistics count is kept: the rows themselves (so RDVs and
    organisations keep their usagers), the year of birth, caisse, family situation, number of
    children, housing, who created the fiche and when. Returns how many usagers were anonymised.

    Uses queryset updates on purpose: an anonymisation must not write a new history line that
    would need erasing in turn."""
    now = timezone.now()
    family = Usager.objects.filter(Q(pk__in=responsible_ids) | Q(responsible_id__in=responsible_ids)).filter(
        anonymised_at__isnull=True
    )
    family_ids = list(family.values_list("pk", flat=True))
    if not family_ids:
        return 0
    # The online account and the codes sent to its addresses go with the data: the verified email
    # is personal data, and an anonymised usager can no longer sign in.
    accounts = UsagerAccount.objects.filter(usager_id__in=family_ids)
    emails = {*accounts.values_list("email", flat=True), *family.exclude(email="").values_list("email", flat=True)}
    accounts.delete()
    EmailCode.objects.alias(email_lower=Lower("email")).filter(
        email_lower__in={normalise_email(email) for email in emails}
    ).delete()
    for year, ids in _ids_by_birth_year(family_ids).items():
        Usager.objects.filter(pk__in=ids).update(birth_date=datetime.date(year, 1, 1))
    Usager.objects.filter(pk__in=family_ids).update(
        first_name=ANONYMOUS_FIRST_NAME,
        last_name=ANONYMOUS_LAST_NAME,
        birth_name="",
        email="",
        phone="",
        address="",
        case_number="",
        notify_by_email=False,
        notify_by_sms=False,
        anonymised_at=now,
    )
    profiles = UsagerProfile.objects.filter(usager_id__in=family_ids)
    profiles.update(notes="")
    UsagerProfile.referents.through.objects.filter(usagerprofile__usager_id__in=family_ids).delete()
    HistoricalUsagerProfile = UsagerProfile.history.model
    HistoricalReferents = apps.get_model("usagers", "HistoricalUsagerProfile_referents")
    HistoricalReferents.objects.filter(history__usager_id__in=family_ids).delete()
    HistoricalUsagerProfile.objects.filter(usager_id__in=family_ids).delete()
    Usager.history.model.objects.filter(id__in=family_ids).delete()
    # The messages sent to them name them and hold their address or number; the receipts (what
    # was sent, when, by which channel) stay for the statistics.
    messages = Notification.objects.filter(usager_id__in=family_ids)
    messages.filter(status__in=Notification.IN_PROGRESS).update(status=Notification.Status.DROPPED)
    messages.update(to="", subject="", body="", last_error="")
    return len(family_ids)


def _ids_by_birth_year(ids: list[int]) -> dict[int, list[int]]:
    by_year: dict[int, list[int]] = {}
    for pk, birth_date in Usager.objects.filter(pk__in=ids, birth_date__isnull=False).values_list("pk", "birth_date"):
        if birth_date is not None:
            by_year.setdefault(birth_date.year, []).append(pk)
    return by_year
