"""The reads every page makes in fixed SQL: its session (rdv.sessions, the SESSION_ENGINE) and, on
a public page, the usager it signed in (usagers.middleware._usager_of, built by
rdv.db.model_from_row): what Django's and the ORM's reads give, value for value. And a kept
session written in one statement, as Django's forced update writes it."""

import datetime as dt
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.usagers.factories import UsagerFactory
from usagers.middleware import USAGER_KEY, _usager_of, proches_of
from usagers.models import Usager

pytestmark = pytest.mark.django_db


def store(session_key=None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def signed_in(usager: Usager):
    session = store()
    session[USAGER_KEY] = usager.pk
    session.save()
    return store(session.session_key)


def values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_a_session_reads_back_what_was_saved():
    session = store()
    session.update({"a": [1, "é"], "b": None})
    session.save()
    again = store(session.session_key)
    assert (again["a"], again["b"], again.session_key) == ([1, "é"], None, session.session_key)


@pytest.mark.parametrize("key", ["missing-but-long-enough", "expiredkey12345"])
def test_a_missing_or_expired_session_is_empty_and_gets_a_new_key_when_written(key):
    expired = store()
    expired["a"] = 1
    expired.save()
    Session.objects.filter(pk=expired.session_key).update(
        session_key="expiredkey12345", expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    session = store(key)
    assert dict(session.items()) == {}
    session["b"] = 2
    session.save()
    assert session.session_key not in (key, None)


def test_the_usager_is_the_orms_phone_and_dates_converted():
    usager = UsagerFactory(complete=True)
    read = _usager_of(signed_in(usager))
    assert values(read) == values(Usager.objects.get(pk=usager.pk))
    assert read.phone.as_e164 == usager.phone.as_e164 and isinstance(read.birth_date, dt.date)


def test_an_anonymised_usager_or_a_proche_is_nobody():
    usager = UsagerFactory()
    proche = UsagerFactory(proche=True)
    session = signed_in(usager)
    Usager.objects.filter(pk=usager.pk).update(anonymised_at=timezone.now())
    assert _usager_of(session) is None
    assert _usager_of(signed_in(proche)) is None


def test_a_kept_session_is_written_in_one_statement_as_django_writes_it(django_assert_num_queries):
    ours, theirs = store(), DjangoSessionStore()
    for session in (ours, theirs):
        session["a"] = 1
        session.save()
    for session in (store(ours.session_key), DjangoSessionStore(theirs.session_key)):
        session["a"] = "é" * 3
        session.set_expiry(3 * 24 * 3600)
        session.save()
    with django_assert_num_queries(2):  # the read of `session["b"]`, then the UPDATE
        session = store(ours.session_key)
        session["b"] = [None, 2]
        session.save()
    mine, django = Session.objects.get(pk=ours.session_key), Session.objects.get(pk=theirs.session_key)
    assert mine.get_decoded() == django.get_decoded() | {"b": [None, 2]}
    assert abs(mine.expire_date - django.expire_date) < dt.timedelta(seconds=5)
    assert store(ours.session_key)["b"] == [None, 2]


def test_a_new_expiry_alone_is_written_and_a_cycled_key_written_under_its_new_key():
    session = store()
    session["a"] = 1
    session.save()
    again = store(session.session_key)
    again.set_expiry(60)
    again.save()
    row = Session.objects.get(pk=session.session_key)
    assert row.get_decoded() == {"a": 1, "_session_expiry": 60}
    assert row.expire_date < timezone.now() + dt.timedelta(seconds=90)
    signed = store(session.session_key)
    signed.cycle_key()  # as a sign-in does, then the page writes what it adds
    signed["b"] = 2
    signed.save()
    assert not Session.objects.filter(pk=session.session_key).exists()
    assert store(signed.session_key)["b"] == 2 and store(signed.session_key)["a"] == 1


def test_a_session_deleted_meanwhile_is_not_written_again():
    session = store()
    session["a"] = 1
    session.save()
    kept = store(session.session_key)
    kept["a"] = 2
    Session.objects.filter(pk=session.session_key).delete()
    with pytest.raises(UpdateError):
        kept.save()
    assert not Session.objects.filter(pk=session.session_key).exists()


def test_the_proches_are_the_orms_in_its_order():
    usager, other = UsagerFactory(), UsagerFactory()
    for first_name in ("Zoé", "alice", "Élodie", "Bruno", "bruno", "Bruno"):
        UsagerFactory(proche=True, responsible=usager, first_name=first_name)
    UsagerFactory(proche=True, responsible=other)
    UsagerFactory(proche=True, responsible=usager, anonymised_at=timezone.now())
    orm = Usager.objects.filter(responsible=usager, anonymised_at__isnull=True).order_by("first_name", "pk")
    assert [values(proche) for proche in proches_of(usager)] == [values(proche) for proche in orm]
    assert len(proches_of(usager)) == 6 and proches_of(other)[0].responsible_id == other.pk
