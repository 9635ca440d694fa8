"""The static files' storage in production (settings.STORAGES)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's: compressed copies, names with their content's hash. Each file's URL computed
    once per process: the manifest, read when the process starts, does not change while it runs,
    and `{% static %}` computed the same URL again at each use (20 µs, several per page)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:
            url = self._urls[name] = super().url(name)
        return url
