import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Exports are written where each test can throw them away."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
