"""Where the RDV exports' files live: the storage named `exports` in settings.STORAGES.

Locally a folder (MEDIA_ROOT/exports); in production, where the worker that writes a file and
the web server that sends it are different machines, a storage they share (a volume, or an object
storage such as django-storages' S3Storage), chosen by settings alone. The files are never served
as media: only by the download view, which checks who asks."""

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class ExportStorage(LazyObject):
    """`storages["exports"]`, looked up at first use, as Django's `default_storage` is."""

    def _setup(self) -> None:
        self._wrapped = storages["exports"]


export_storage = ExportStorage()


def exports() -> Storage:
    """The RdvExport.file field's storage (a callable: migrations record its name, not a backend)."""
    return export_storage  # type: ignore[return-value]


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    # Django forgets its own storages when STORAGES changes (tests): this one follows.
    if setting == "STORAGES":
        export_storage._wrapped = empty
