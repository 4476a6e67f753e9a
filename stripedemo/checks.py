"""Deployment checks of the shop's own (`manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "in each process's memory",
    "django.core.cache.backends.dummy.DummyCache": "nowhere (the dummy cache)",
}


@register(Tags.caches, deploy=True)
def check_throttling_cache_is_shared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Throttling counts in a per-process cache are no limit under several workers."""
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    where = PER_PROCESS_CACHES.get(backend)
    if where is None:
        return []
    return [
        Warning(
            f"The default cache ({backend}) keeps the throttling counts {where}: each "
            "worker and instance counts alone, so logins and payments are barely limited.",
            hint=(
                "Set REDIS_URL, or DATABASE_CACHE=true (the default with DJANGO_DEBUG off) "
                "and run `manage.py createcachetable`."
            ),
            id="stripedemo.W001",
        )
    ]
