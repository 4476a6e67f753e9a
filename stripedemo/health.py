"""GET /api/health/: is this instance able to serve? The load balancer's health check.

It runs one trivial query and answers 200 {"status": "ok", "database": "ok"}, or 503
when the database does not answer, so the load balancer stops sending shoppers to an
instance that cannot serve them. It is a plain Django view: no authentication, no DRF
throttling, nothing cached.

The middleware answers it before Django validates the Host header and before the HTTPS
redirect: Elastic Beanstalk's health checker connects over plain HTTP with the
instance's private IP as Host, which is neither in ALLOWED_HOSTS nor HTTPS. Answering
early (rather than adding the instance IP from EC2 metadata to ALLOWED_HOSTS) needs no
network call at start-up and works the same on any host; this one path reveals nothing
and builds no URL from the Host header.
"""

import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

log = logging.getLogger("stripedemo.health")

HEALTH_PATH = "/api/health/"


def health(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse(
            {"success": False, "error": "Method not allowed.", "detail": "Method not allowed."},
            status=405,
        )
        response["Allow"] = "GET, HEAD"
        return response
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The driver's message names the host and user, never the password.
        log.warning(
            "health check failed: database unavailable",
            extra={"error_class": type(error).__name__, "error": str(error)},
        )
        # Drop the broken connection so that the next check reconnects.
        connection.close_if_unusable_or_obsolete()
        response = JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
    else:
        response = JsonResponse({"status": "ok", "database": "ok"})
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers the health path before host validation and the HTTPS redirect (see above)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)
