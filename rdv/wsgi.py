import importlib
import os

from django.core.wsgi import get_wsgi_application

from rdv.memory import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdv.settings")

application = get_wsgi_application()

# What the first requests would otherwise load, then the collector's settings (which freeze it).
from planning.holidays import preload  # noqa: E402  (needs the apps loaded above)

# Imported on first use by the cache (the rate limits, at the first form) and by Celery (the first
# message queued, inside the booking's transaction: the agents' lock waits for it). Only imported
# here, nothing connected: the process starts even while Redis is down.
FIRST_USE_MODULES = ["redis", "kombu.transport.redis", "celery.canvas", "celery.result", "billiard.einfo"]
for name in FIRST_USE_MODULES:
    importlib.import_module(name)
preload()
tune_garbage_collector()
