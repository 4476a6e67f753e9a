"""The shop's one JSON error envelope.

Every error body is `{"success": false, "error": "<one sentence>", "detail": "<same>"}`,
plus `"fields"` for invalid input. `detail` keeps the original clients' contract
(`{"detail": "authorization failure"}`), `error` the original signup/order contract.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = logging.getLogger("stripedemo.errors")


def error_body(message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body = {"success": False, "error": message, "detail": message, **extra}
    if fields:
        body["fields"] = fields
    return body


def error_response(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse(error_body(message, **extra), status=status)


def first_message(detail: Any, field: str | None = None) -> str:
    """One human sentence from DRF's nested validation errors, naming the field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            return first_message(value, None if key == "non_field_errors" else key)
    if isinstance(detail, list) and detail:
        return first_message(detail[0], field)
    message = str(detail)
    if field and field.replace("_", " ") not in message.lower() and field not in message:
        return f"{field}: {message}"
    return message


def json_exception_handler(
    exc: Exception, context: dict[str, Any]
) -> Response | JsonResponse | None:
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.APIException("The request body is too large.")
        exc.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    response = exception_handler(exc, context)
    if response is None:
        if isinstance(exc, Http404 | PermissionDenied):  # DRF maps these itself
            return None
        log.exception("unhandled error", extra={"view": type(context["view"]).__name__})
        return error_response("Internal server error.", status=500)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(first_message(exc.detail), fields=fields)
    else:
        response.data = error_body(first_message(response.data.get("detail", response.data)))
    return response
