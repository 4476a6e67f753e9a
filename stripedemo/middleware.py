"""Request ids, one access-log line per request, and JSON for errors Django raises itself."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import request_finished
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.functional import SimpleLazyObject

from stripedemo.errors import error_response
from stripedemo.logging import set_request_id

access_log = logging.getLogger("stripedemo.access")
error_log = logging.getLogger("stripedemo.errors")

# A request id from the load balancer or the client is kept if it looks like one.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # META, not request.headers: that would build a dict of every header first.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        set_request_id(request.request_id)  # type: ignore[attr-defined]
        started = time.monotonic()
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]
        access_log.info(
            "request served",
            extra={
                "method": request.method,
                "path": request.path,
                "status_code": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000),
                "user_id": _user_id(request),
            },
        )
        return response


def _user_id(request: HttpRequest) -> int | None:
    """The id of the user the view authenticated, if it did; never a lookup of its own.

    DRF's JWT authentication sets request.user when a view reads it. Before that it is
    AuthenticationMiddleware's lazy user, which would read the session to resolve: left
    alone (type() does not resolve it; isinstance() would).
    """
    user = request.__dict__.get("user")
    if user is None or type(user) is SimpleLazyObject or not user.is_authenticated:
        return None
    return user.pk


def _forget_request_id(**kwargs: Any) -> None:
    set_request_id(None)


# Cleared only when the response is finished: Django logs 4xx/5xx after the middleware
# has returned, and those lines should carry the request id too.
request_finished.connect(_forget_request_id, dispatch_uid="stripedemo.forget_request_id")


class JsonErrorsMiddleware:
    """Errors raised outside DRF's views still answer JSON, never an HTML debug page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # DRF's parsers read the stream directly, past Django's own body-size check.
        if _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return error_response("The request body is too large.", status=413)
        return json_for_html_error(request, self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse:
        if isinstance(exception, RequestDataTooBig):
            return error_response("The request body is too large.", status=413)
        error_log.exception(
            "unhandled error", extra={"method": request.method, "path": request.path}
        )
        return error_response("Internal server error.", status=500)


def json_for_html_error(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Django's own 404/400 pages (its debug pages included) are HTML; the API's are not."""
    if (
        request.path.startswith("/api/")
        and response.status_code >= 400
        and response.get("Content-Type", "").startswith("text/html")
    ):
        json_response = error_response(
            HTTPStatus(response.status_code).phrase + ".", status=response.status_code
        )
        # What the error says in its headers stays (a 405 must name its Allow methods).
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                json_response[header] = response[header]
        return json_response
    return response


class EarlyJsonErrorsMiddleware:
    """JSON for the API's errors raised by the middleware ahead of JsonErrorsMiddleware.

    A foreign Host header raises DisallowedHost in SecurityMiddleware or CommonMiddleware
    (request.get_host()), before the request reaches JsonErrorsMiddleware. With DEBUG off
    Django answers it with handler400 (JSON already); with DEBUG on, with its HTML debug
    page, which this turns into the JSON envelope for paths under /api/.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return json_for_html_error(request, self.get_response(request))


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
