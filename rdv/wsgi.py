import importlib
import os

from django.core.cache import caches
from django.core.wsgi import get_wsgi_application

from rdv.memory import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdv.settings")

application = get_wsgi_application()

# What the first requests would otherwise load, then the collector's settings (which freeze it).
from planning.holidays import preload  # noqa: E402  (needs the apps loaded above)
from rdv.celery import app as celery_app  # noqa: E402

# Imported on first use by the cache (the rate limits, at the first form) and by Celery (the first
# message queued, once the booking commits: the usager waits for it). Only imported and built
# here, nothing connected: the process starts even while Redis is down. Without them,
# the first booking of each process took 60 to 150 ms more (about 115 modules).
FIRST_USE_MODULES = [
    "redis",
    "kombu.transport.redis",
    "kombu.mixins",
    "kombu.utils.limits",
    "celery.canvas",
    "celery.result",
    "celery.events.dispatcher",
    "billiard.einfo",
]
for name in FIRST_USE_MODULES:
    importlib.import_module(name)
cache_backend = caches["default"]
cache_client = cache_backend._cache  # the backend's client: its connection pools, none opened
celery_app.finalize(auto=True)  # the tasks found
celery_router = celery_app.amqp.router  # their queues and routes
preload()
tune_garbage_collector()
