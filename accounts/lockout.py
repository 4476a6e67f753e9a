"""Locked-out logins (django-axes): whose address counts, and what a lockout answers.

django-axes counts failed logins per username and client address and refuses the pair
for a while after too many (settings: AXES_*). It calls `client_ip_address` and
`lockout_response` by their dotted names; the token view answers with
`api_lockout_response`.
"""

import ipaddress
import math
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from stripedemo.errors import error_response
from stripedemo.throttling import client_address

if TYPE_CHECKING:
    from rest_framework.request import Request


def client_ip_address(request: HttpRequest) -> str | None:
    """The address the login throttle counts, so that both agree on who the client is.

    That is the socket's address, or with TRUSTED_PROXY_COUNT the one the trusted proxies
    saw (stripedemo/throttling.py). Anything that is not an IP address (possible only
    when fewer proxies forwarded the request than configured) is None: axes stores
    addresses in an IP address column, and such clients share one count per username.
    """
    # client_address reads nothing but request.META, which Django's request has too.
    address = client_address(cast("Request", request))
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def locked_out_message() -> str:
    minutes = math.ceil(cool_off_seconds() / 60)
    return (
        "Too many failed logins for this account from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def api_lockout_response() -> JsonResponse:
    """The API's lockout: its JSON error, a 429 with Retry-After like its throttles'."""
    response = error_response(locked_out_message(), status=429)
    response["Retry-After"] = str(cool_off_seconds())
    return response


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    """What AxesMiddleware answers instead of a locked-out login (the admin's login form).

    A page in the admin's look, a 429 with Retry-After; JSON under /api/ should a
    lockout ever reach the middleware from there.
    """
    if request.path.startswith("/api/"):
        return api_lockout_response()
    response = render(
        request, "accounts/locked_out.html", {"message": locked_out_message()}, status=429
    )
    response["Retry-After"] = str(cool_off_seconds())
    return response
