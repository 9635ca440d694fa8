import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections as close_old_django_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdv.settings")

app = Celery("rdv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(task=None, **kwargs) -> None:
    """Around each task, what Django does around each request: a database connection older than
    CONN_MAX_AGE, or broken, is closed (the next query opens a new one); the others are kept.
    Celery's own rule (settings.CELERY_DB_REUSE_MAX) would open one per task: a worker sending a
    message per task then spends more time connecting than sending. Not for a task run in place
    (tests' eager tasks): the caller's connection and transaction are not the task's."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_django_connections()
