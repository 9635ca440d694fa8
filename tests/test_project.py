"""The project's own machinery: demo data, production settings, services script, SMS backends."""

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest

from rdv import sms

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "rdv.departement.fr",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="false", ALLOWED_HOSTS="rdv.departement.fr")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_services_script_uses_running_servers_and_creates_the_database():
    name = f"rdv_services_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"}
    try:
        result = subprocess.run(
            [sys.executable, "bin/services"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert f"base « {name} » créée" in result.stdout
        again = subprocess.run([sys.executable, "bin/services"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert again.returncode == 0 and "créée" not in again.stdout
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"'])


def test_services_script_names_the_package_to_install_when_redis_is_missing(tmp_path):
    # A PATH without redis-server, and a Redis URL where nothing listens.
    env = {**os.environ, "PATH": str(tmp_path) + ":/usr/bin/nonexistent", "REDIS_URL": "redis://127.0.0.1:1/0"}
    (tmp_path / "psql").symlink_to("/usr/bin/psql")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bin/services")], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "redis-server" in result.stderr and "apt-get install" in result.stderr


def test_file_sms_backend_writes_one_json_line_per_sms(settings, tmp_path):
    settings.SMS_BACKEND = "rdv.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    sms.get_sms_backend().send(sms.Sms(to="+33612345678", body="Votre RDV est confirmé."))
    [file] = list(tmp_path.iterdir())
    assert '"to": "+33612345678"' in file.read_text() and "confirmé" in file.read_text()


def test_locmem_sms_backend_keeps_an_outbox(settings):
    sms.get_sms_backend().send(sms.Sms(to="+262692123456", body="Rappel"))
    assert sms.LocmemSmsBackend.outbox == [sms.Sms(to="+262692123456", body="Rappel")]


@pytest.mark.parametrize("status, permanent", [(400, True), (429, False), (503, False)])
def test_twilio_backend_tells_permanent_from_temporary_errors(settings, status, permanent):
    from twilio.base.exceptions import TwilioRestException

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    backend = sms.TwilioSmsBackend()
    # The provider's HTTP API is outside the machine: mocked at the client boundary.
    refusal = TwilioRestException(status, "uri", "refus")
    with (
        mock.patch.object(backend.client.messages, "create", side_effect=refusal),
        pytest.raises(sms.SmsError) as error,
    ):
        backend.send(sms.Sms(to="+33612345678", body="x"))
    assert error.value.permanent is permanent


def test_twilio_backend_returns_the_provider_id(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    backend = sms.TwilioSmsBackend()
    message = mock.Mock(sid="SM123", status="queued")
    with mock.patch.object(backend.client.messages, "create", return_value=message) as create:
        result = backend.send(sms.Sms(to="+33612345678", body="Bonjour"))
    assert result == sms.SmsResult(provider_id="SM123", status="queued")
    assert create.call_args.kwargs["to"] == "+33612345678"


WATCH_CONNECTIONS = """
import socket
opened = []
for name in ("connect", "connect_ex"):
    def spy(self, address, _original=getattr(socket.socket, name)):
        opened.append(address)
        return _original(self, address)
    setattr(socket.socket, name, spy)
import rdv.wsgi
print(type(rdv.wsgi.cache_client).__name__, len(opened))
"""


def test_the_web_process_builds_the_cache_and_celery_without_connecting():
    """rdv/wsgi.py builds the cache's client and Celery's router before the first request, but
    opens no connection (every socket's connect watched): a web process (re)started during a
    Redis outage serves its pages."""
    unreachable = "redis://127.0.0.1:1/0"
    environment = {
        **os.environ,
        "REDIS_URL": unreachable,
        "CACHE_URL": unreachable,
        "CELERY_BROKER_URL": unreachable,
        "DJANGO_SETTINGS_MODULE": "rdv.settings",
    }
    started = subprocess.run(
        [sys.executable, "-c", WATCH_CONNECTIONS], env=environment, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["RedisCacheClient", "0"]


def test_the_web_process_preloads_then_tunes_the_garbage_collector():
    """rdv/wsgi.py loads Django and the holidays calendars (0.4 s the first request would pay),
    then freezes the start-up objects and raises the first threshold (see rdv/memory.py;
    bench_agenda's p95 depends on it)."""
    import gc
    import importlib

    import rdv.wsgi
    from planning.holidays import _holidays_of_year

    before = gc.get_threshold()
    _holidays_of_year.cache_clear()
    try:
        importlib.reload(rdv.wsgi)
        assert _holidays_of_year.cache_info().currsize == 1
        assert gc.get_threshold()[0] == rdv.memory.FIRST_GENERATION_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_dsfr_links_and_scripts_kept_are_what_the_dsfr_tags_render():
    from django.template import Context, Template

    def rendered(source: str) -> str:
        return Template(source).render(Context())

    assert rendered("{% load dsfr_kept %}{% dsfr_head %}") == rendered(
        "{% load dsfr_tags %}{% dsfr_css %}{% dsfr_favicon %}"
    )
    assert rendered("{% load dsfr_kept %}{% dsfr_scripts %}") == rendered("{% load dsfr_tags %}{% dsfr_js %}")
    assert "dsfr.module.min" in rendered("{% load dsfr_kept %}{% dsfr_scripts %}")


def test_each_static_url_is_computed_once_as_whitenoise_computes_it(tmp_path):
    import json

    from whitenoise.storage import CompressedManifestStaticFilesStorage

    from rdv.static_files import StaticFilesStorage

    manifest = {"paths": {"css/rdv.css": "css/rdv.0123abcd.css"}, "version": "1.1"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    kept = StaticFilesStorage(location=tmp_path, base_url="/static/")
    whitenoise = CompressedManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    assert kept.url("css/rdv.css") == whitenoise.url("css/rdv.css") == "/static/css/rdv.0123abcd.css"
    with mock.patch.object(CompressedManifestStaticFilesStorage, "url", side_effect=AssertionError):
        assert kept.url("css/rdv.css") == "/static/css/rdv.0123abcd.css"
    with pytest.raises(ValueError):  # not collected: as WhiteNoise says, every time
        kept.url("css/absent.css")
    with pytest.raises(ValueError):
        kept.url("css/absent.css")
