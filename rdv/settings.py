"""Settings of RDV-Solidarités, read from the environment (12-factor).

Local defaults are safe for a developer's machine: DEBUG on, a local PostgreSQL database `rdv`,
a local Redis, emails and SMS printed to the console. Production sets DEBUG=false, which then
requires SECRET_KEY and ALLOWED_HOSTS and turns on HTTPS-only cookies and HSTS.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-never-used-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    # No default: a production deployment that forgets them must not start.
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS doit lister les noms d'hôte servis, sans « * ».")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",
    "dsfr",
    "widget_tweaks",
    "django_htmx",
    "recurrence",
    "simple_history",
    "phonenumber_field",
    "anymail",
    "axes",
    "organisations",
    "agents",
    "motifs",
    "sectorisation",
    "planning",
    "usagers",
    "rendezvous",
    "stats",
    "notifications",
    "reservation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY below), Permissions-Policy, no-store: on
    # every answer, the 400 below included.
    "csp.middleware.CSPMiddleware",
    "rdv.headers.PrivacyHeadersMiddleware",
    # A NUL character anywhere in a request: « Demande invalide » (400), before anything reads it.
    "rdv.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The usagers' own session (cookie « rdv_usager »), on the public pages only: request.usager.
    "usagers.middleware.UsagerSessionMiddleware",
    # Every view needs a signed-in agent unless it says otherwise (@login_not_required).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "organisations.middleware.CurrentOrganisationMiddleware",
    # Last, as django-axes asks: it turns a lockout into the login page's answer.
    "axes.middleware.AxesMiddleware",
]

# Every resource from our own origin, no inline script, nothing from a third party (no CDN: the
# DSFR, htmx and our scripts are served by WhiteNoise). One narrow exception: inline `style`
# *attributes* (`style-src-attr`), which the agenda's time grid uses to place each RDV and plage
# at its computed row and height, and the charts and motifs' colour swatches for a colour chosen
# by an admin. An attribute cannot load or run anything; `<style>` elements stay refused
# (`style-src-elem 'self'`). `data:` images: the DSFR's icons and checkboxes are SVG data URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "rdv.urls"
WSGI_APPLICATION = "rdv.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rdv.context_processors.navigation",
            ],
            # « 1er janvier » in every template's `date` filter, without `{% load %}`.
            "builtins": ["rdv.templatetags.french"],
            # The DSFR's links and scripts, rendered once per process (rdv/templatetags/dsfr_kept.py).
            "libraries": {"dsfr_kept": "rdv.templatetags.dsfr_kept"},
        },
    },
]
FORM_RENDERER = "rdv.form_renderer.FormRenderer"

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/rdv")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend, its check of a kept connection without a round trip per request.
DATABASES["default"]["ENGINE"] = "rdv.postgresql"
# Parameters bound by PostgreSQL and each query prepared after 5 runs on a connection (psycopg):
# PostgreSQL then stops planning again the statements every page repeats (its CPU per request
# under `make loadtest`: 1.9 → 1.2 ms). Off behind a connection pooler in transaction mode that
# does not keep prepared statements. A migration that changes a column's type makes the statements
# prepared on it fail until their connection closes (CONN_MAX_AGE): restart web and workers after
# it, as a deploy does (README, « Configuration »).
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Shared by every web process: the rate limits of the usagers' codes (reservation.identity_views)
# count there. Keys are prefixed, so the Celery broker may share the same Redis.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="rdv"),
        # A Redis that hangs must not hang the pages.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

AUTH_USER_MODEL = "agents.Agent"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "agents:login"
LOGIN_REDIRECT_URL = "organisations:choose"
LOGOUT_REDIRECT_URL = "agents:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # one day: the link is sent by email and used at once

# Agents work on shared computers in public buildings: a session ends with the working day
# and with the browser.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 10)
# In the database, read by a fixed statement (rdv/sessions.py).
SESSION_ENGINE = "rdv.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Usagers who book online have their own session (usagers.middleware), 30 days on their device:
# another cookie, another session key; HttpOnly, SameSite=Lax, Secure with SESSION_COOKIE_SECURE.
USAGER_SESSION_COOKIE_NAME = "rdv_usager"

# Brute-force protection: five wrong passwords for one email from one address lock that
# pair for 15 minutes. Locking by email alone would let anyone lock an agent out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "agents.views.lockout_response"
AXES_USERNAME_CALLABLE = "agents.views.axes_username"
# The client's address, for that lock and the usagers' rate limits: behind N reverse proxies we
# trust (TRUSTED_PROXY_COUNT, the production proxy that SECURE_PROXY_SSL_HEADER assumes), the N-th
# address from the right of X-Forwarded-For; 0 reads REMOTE_ADDR (rdv.proxies). Without it behind a
# proxy every client has the proxy's address, and five failures lock an agent out for everyone.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT est le nombre de proxys devant le site : 0 ou plus.")
AXES_CLIENT_IP_CALLABLE = "rdv.proxies.client_ip_address"
AXES_VERBOSE = False

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True
# Django's French formats, but times as « 14h15 » (rdv/formats/fr/formats.py).
FORMAT_MODULE_PATH = ["rdv.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]

PHONENUMBER_DEFAULT_REGION = "FR"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

STATIC_URL = "static/"
# `collectstatic` writes there (the load test collects into a temporary folder: bench/loadtest.py).
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the application writes (stats' RDV exports): never served as static files, only by views
# that check who asks.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "rdv.static_files.StaticFilesStorage"
    },
    # The RDV exports' files (stats.storage): a Celery worker writes them, a web server sends
    # them, so in production both must reach the same storage: MEDIA_ROOT on a shared volume, or
    # any Django storage backend, e.g. EXPORTS_STORAGE_BACKEND=storages.backends.s3.S3Storage
    # with EXPORTS_STORAGE_OPTIONS='{"bucket_name": "…", "location": "exports"}' (django-storages).
    "exports": {
        "BACKEND": env("EXPORTS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("EXPORTS_STORAGE_OPTIONS", default={"location": str(Path(MEDIA_ROOT) / "exports")}),
    },
}
# An RDV export's file, and its row, are deleted this many days after it was ready (or failed):
# it holds usagers' data (stats.retention, hourly).
STATS_EXPORT_RETENTION_DAYS = env.int("STATS_EXPORT_RETENTION_DAYS", default=7)
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Email: printed locally; in production any provider that django-anymail supports, e.g.
# EMAIL_BACKEND=anymail.backends.brevo.EmailBackend with ANYMAIL_BREVO_API_KEY.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Where django.core.mail.backends.filebased.EmailBackend writes, when chosen (bench_notifications).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "emails"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="RDV Solidarités <ne-pas-repondre@rdv-solidarites.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in env.ENVIRON.items() if key.startswith("ANYMAIL_")}
# A provider that hangs must not keep a worker: the message is retried later.
ANYMAIL.setdefault("REQUESTS_TIMEOUT", 10)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# SMS: printed locally (or written to SMS_FILE_PATH); Twilio in production.
SMS_BACKEND = env("SMS_BACKEND", default="rdv.sms.ConsoleSmsBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms"))
SMS_SENDER = env("SMS_SENDER", default="RdvSoli")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
SMS_TIMEOUT = env.int("SMS_TIMEOUT", default=10)
# Where Twilio posts the delivery receipts of SMS (empty: none asked), e.g.
# https://rdv.example.fr/notifications/twilio/statut/ — the exact URL the signatures are made for.
SMS_STATUS_CALLBACK_URL = env("SMS_STATUS_CALLBACK_URL", default="")

# Geocoding of lieux' addresses: a service speaking the Base Adresse Nationale's API, e.g.
# GEOCODING_URL=https://api-adresse.data.gouv.fr/search/. Empty: no call, addresses kept as typed.
GEOCODING_URL = env("GEOCODING_URL", default="")

# Messages an agent's action owes the usagers wait this long before leaving: a status set by
# mistake and corrected meanwhile sends nothing at all (notifications.services.write).
NOTIFICATIONS_GRACE_SECONDS = env.int("NOTIFICATIONS_GRACE_SECONDS", default=120)
# At most this many messages about RDVs reach one address or number in 24 hours; the next ones
# are not sent (« Non envoyée : limite quotidienne » on the RDV's page). Codes and agents' emails
# are not counted (notifications.claim.Batch.over_daily_limit).
NOTIFICATIONS_DAILY_LIMIT = env.int("NOTIFICATIONS_DAILY_LIMIT", default=10)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Workers keep their database connection between tasks, CONN_MAX_AGE as between requests
# (rdv/celery.py); Celery's own rule closes it after every task unless this is set, and then
# only every CELERY_DB_REUSE_MAX tasks.
CELERY_DB_REUSE_MAX = 1_000_000_000
# A delivery running when the broker connection drops goes on: its outcome is recorded in the
# database, not in the broker, and its task, delivered again, finds nothing left to do. (Celery 6
# would cancel it, leaving the row to the sweep once its claim expires.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Notifications: the sweep sends what a worker did not (broker down when queued, retries due);
# reminders are written 48 hours ahead.
CELERY_BEAT_SCHEDULE: dict = {
    # `expires`: a run still queued when the next one is due is discarded, never piled up.
    "notifications-deliver-due": {"task": "notifications.deliver_due", "schedule": 60.0, "options": {"expires": 55}},
    "notifications-send-reminders": {
        "task": "notifications.send_reminders",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Retention (notifications.retention): at night, when no one books.
    "notifications-purge": {
        "task": "notifications.purge",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
    # Retention of the RDV exports (stats.retention): hourly, so that a file outlives its
    # « Disponible jusqu'au » by an hour at most.
    "stats-purge-exports": {
        "task": "stats.purge_exports",
        "schedule": crontab(minute=15),
        "options": {"expires": 3000},
    },
}

DSFR_USE_INTEGRITY_CHECKSUMS = True

SITE_NAME = "RDV Solidarités"
# The site's public address, for links in emails sent outside any request (invitations…).
SITE_URL = env("SITE_URL", default="http://localhost:8000").rstrip("/")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
DSFR_MARK_OPTIONAL_FIELDS = True  # DSFR marks optional fields, not required ones
