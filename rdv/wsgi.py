import os

from django.core.wsgi import get_wsgi_application

from rdv.memory import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdv.settings")

application = get_wsgi_application()

# What the first requests would otherwise load, then the collector's settings (which freeze it).
from planning.holidays import preload  # noqa: E402  (needs the apps loaded above)

preload()
tune_garbage_collector()
