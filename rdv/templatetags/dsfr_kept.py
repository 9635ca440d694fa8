"""The DSFR's `<head>` links and `<body>` scripts, rendered once per process.

django-dsfr's `{% dsfr_css %}`, `{% dsfr_favicon %}` and `{% dsfr_js %}` render a template of
their own at every page, for HTML that only depends on the installed DSFR and the static files'
manifest, both fixed while a process runs: 0.47 ms of CPU of each page, a tenth of a small public
page (`make loadtest`: at the burst of usagers the server is short of CPU). Kept here after their
first rendering, as they render it (`tests/test_project.py` compares)."""

from functools import cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context, Template

register = template.Library()


@cache
def _rendered(source: str) -> str:
    # A template's rendering is safe already: the tag gives it back as is.
    return Template("{% load dsfr_tags %}" + source).render(Context())


@receiver(setting_changed)
def _forget(setting: str, **kwargs) -> None:
    # A test that changes where static files are, or the DSFR's settings.
    if setting in ("STORAGES", "STATIC_URL") or setting.startswith("DSFR_"):
        _rendered.cache_clear()


@register.simple_tag
def dsfr_head() -> str:
    """`{% dsfr_css %}{% dsfr_favicon %}`."""
    return _rendered("{% dsfr_css %}{% dsfr_favicon %}")


@register.simple_tag
def dsfr_scripts() -> str:
    """`{% dsfr_js %}`, without a nonce: its scripts are files of this site ('self')."""
    return _rendered("{% dsfr_js %}")
