"""Site-wide views: the front end's generated config, and JSON answers for Django's errors."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from stripedemo.errors import error_response
from stripedemo.frontend_config import build_config, config_json


def frontend_config(request: HttpRequest) -> HttpResponse:
    """frontend/config.json, generated from settings when Django serves the front end."""
    config = build_config(
        api_base_url=settings.FRONTEND_API_BASE_URL,
        stripe_publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        stripe_js_url=settings.STRIPE_JS_URL,
        max_quantity=settings.ORDER_MAX_QUANTITY,
    )
    response = HttpResponse(config_json(config), content_type="application/json")
    response["Cache-Control"] = "no-cache"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response("Not found.", status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response("Bad request.", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response("You do not have permission to do this.", status=403)


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response("Internal server error.", status=500)
