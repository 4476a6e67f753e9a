"""Deployment checks of the shop's own (`manage.py check --deploy`)."""

from email.utils import parseaddr
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
    # Typed loosely: mypy infers the settings' own literal, whose values vary in type.
    default_cache: dict[str, Any] = settings.CACHES.get("default", {})
    backend = str(default_cache.get("BACKEND", ""))
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


# Backends that deliver no mail: the receipts would only be printed, kept or dropped.
UNDELIVERED_MAIL = {
    "stripedemo.mail.UnsentEmailBackend": "not sent (they wait, for up to a week)",
    "stripedemo.mail.ConsoleEmailBackend": "printed on the process's error output",
    "django.core.mail.backends.console.EmailBackend": "printed on the process's output",
    "django.core.mail.backends.filebased.EmailBackend": "written to files on the instance",
    "django.core.mail.backends.locmem.EmailBackend": "kept in the process's memory",
    "django.core.mail.backends.dummy.EmailBackend": "dropped",
}


@register(deploy=True)
def check_receipts_are_delivered(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Receipts (orders/receipts.py) reach the shoppers only through a real mail server,
    from an address of the shop's own."""
    if settings.DEBUG:
        return []
    found: list[CheckMessage] = []
    where = UNDELIVERED_MAIL.get(settings.EMAIL_BACKEND)
    if where is not None:
        found.append(
            Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: the shoppers' receipts are "
                f"{where}, not emailed.",
                hint=(
                    "Set EMAIL_HOST, EMAIL_HOST_USER and EMAIL_HOST_PASSWORD (an SMTP "
                    "server, or Amazon SES's SMTP interface); see README, 'Receipts'."
                ),
                id="stripedemo.W002",
            )
        )
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if not address.partition("@")[2] or address.endswith("@localhost"):
        found.append(
            Warning(
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: receipts would be "
                "sent from an address no mail server accepts as the shop's.",
                hint="Set DEFAULT_FROM_EMAIL to an address of your domain verified with "
                "your mail provider, e.g. 'Stripe Demo shop <receipts@example.com>'.",
                id="stripedemo.W003",
            )
        )
    return found
