"""Sends the Content-Security-Policy (stripedemo/csp.py) on every answer of the shop.

One policy for all of them: the front end's pages (index.html, served by WhiteNoise at /),
the API's JSON, the Swagger UI at /api/docs/ and the admin. The JSON needs none of it
(a browser applies a policy only to a document), and the Django pages use no Stripe, but
one policy is one thing to review; none of those pages runs an inline script. It sits
before WhiteNoise in MIDDLEWARE, which answers the front end's files itself.
"""

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from stripedemo.csp import SWAGGER_UI_STYLE_HASH, build_policy, header_value

HEADER = "Content-Security-Policy"


@lru_cache(maxsize=8)
def policy_header(stripe_js_url: str, api_base_url: str) -> str:
    """The header for these settings (read on every request: tests change them)."""
    return header_value(
        build_policy(
            stripe_js_url=stripe_js_url,
            api_base_url=api_base_url,
            inline_style_hashes=(SWAGGER_UI_STYLE_HASH,),
        )
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response[HEADER] = policy_header(settings.STRIPE_JS_URL, settings.FRONTEND_API_BASE_URL)
        return response
