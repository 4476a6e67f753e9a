"""Site-wide views: the front end's generated config, and JSON answers for Django's errors."""

import json

from django.conf import settings
from django.http import HttpResponse

from stripedemo.errors import error_response


def frontend_config(request):
    """frontend/config.js, generated from settings when Django serves the front end."""
    config = {
        "apiBaseUrl": settings.FRONTEND_API_BASE_URL,
        "stripePublishableKey": settings.STRIPE_PUBLISHABLE_KEY,
        "stripeJsUrl": settings.STRIPE_JS_URL,
    }
    body = f"window.SHOP_CONFIG = {json.dumps(config, indent=2)};\n"
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def not_found(request, exception=None):
    return error_response("Not found.", status=404)


def bad_request(request, exception=None):
    return error_response("Bad request.", status=400)


def permission_denied(request, exception=None):
    return error_response("You do not have permission to do this.", status=403)


def server_error(request):
    return error_response("Internal server error.", status=500)
