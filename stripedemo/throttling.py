"""Whom the throttles count: the client's address, never a header it may forge.

DRF's throttles, with NUM_PROXIES unset (None), take the whole X-Forwarded-For header as
the client's identity: a client that sends a new header with each request is counted as
a new client each time. The shop trusts forwarded addresses only when the number of
proxies in front of it is configured (TRUSTED_PROXY_COUNT, NUM_PROXIES in DRF's
settings: 2 on Elastic Beanstalk); otherwise it counts the socket's address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request


def client_address(request: Request) -> str:
    """The socket's address; with NUM_PROXIES set, the one the trusted proxies saw."""
    if api_settings.NUM_PROXIES is None:
        return str(request.META.get("REMOTE_ADDR") or "")
    return BaseThrottle().get_ident(request)


class ClientAddressThrottleMixin(BaseThrottle):
    """For throttles counted per client address (DRF's get_ident)."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)
