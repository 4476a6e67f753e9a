"""Stripe's error envelope, as exceptions the endpoints raise."""

from __future__ import annotations

from typing import Any


def doc_url(code: str) -> str:
    return "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


class StripeError(Exception):
    """An error answered as ``{"error": {...}}`` with Stripe's status codes.

    Raised once an endpoint has started executing, so its response is saved
    under the request's idempotency key, like any other result.
    """

    saved = True

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {
            "type": type,
            "message": message,
            "code": code,
            "param": param,
            "decline_code": decline_code,
            "doc_url": doc_url(code) if code else None,
            **extra,
        }

    def body(self) -> dict[str, Any]:
        # Stripe leaves absent fields out and sorts the rest.
        return {"error": {k: v for k, v in sorted(self.error.items()) if v is not None}}


class ParamError(StripeError):
    """The request's parameters failed validation before the endpoint ran.

    Stripe does not save such results under the idempotency key, so the same
    key can be retried with corrected parameters.
    """

    saved = False


def missing(kind: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    """``No such charge: 'ch_x'`` — 404 on a path id, 400 when it is a parameter."""
    return StripeError(
        f"No such {kind}: '{object_id}'", status=status, code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )


NO_API_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)

SECRET_KEY_REQUIRED = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. "
    "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys."
)

API_ERROR = (
    "Sorry, something went wrong. We've already been notified of the problem, but if you need "
    "any help, you can reach us at https://support.stripe.com/contact."
)

RATE_LIMITED = (
    "Too many requests hit the API too quickly. We recommend an exponential backoff of your "
    "requests."
)
