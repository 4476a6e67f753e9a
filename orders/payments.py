"""The one place where the shop talks to Stripe.

Thin functions: each calls Stripe with the idempotency key it is given and returns
plain data (dicts in Stripe's shape), or raises one of this module's exceptions. No
caller ever sees a `stripe.*` class. STRIPE_API_BASE only changes where the SDK sends
its requests (devstripe locally and in tests); the code path is the same.
"""

import functools
import logging
from dataclasses import dataclass

import stripe
from django.conf import settings

log = logging.getLogger("orders.payments")


class PaymentError(Exception):
    """Stripe did not move the money as asked. `http_status` is what the shopper gets."""

    http_status = 503

    def __init__(self, message, code="", stripe_id=""):
        super().__init__(message)
        self.message = message
        self.code = code or ""
        self.stripe_id = stripe_id or ""


class CardDeclined(PaymentError):
    """The card was declined (or failed authentication): the shopper may try another."""

    http_status = 402


class PaymentRejected(PaymentError):
    """Stripe refused the request itself, e.g. an unknown or already used token."""

    http_status = 400


class PaymentUnavailable(PaymentError):
    """Stripe could not be reached or failed; the outcome is unknown until reconciled."""

    http_status = 503


class PaymentMisconfigured(PaymentError):
    """Our Stripe key is missing, wrong or lacks permission: an operator must act."""

    http_status = 500


@dataclass(frozen=True)
class _ClientSettings:
    secret_key: str
    api_base: str
    timeout: float
    max_network_retries: int


@functools.lru_cache(maxsize=4)
def _client_for(config):
    base_addresses = {"api": config.api_base.rstrip("/")} if config.api_base else None
    return stripe.StripeClient(
        config.secret_key,
        base_addresses=base_addresses,
        max_network_retries=config.max_network_retries,
        http_client=stripe.RequestsClient(timeout=config.timeout),
    )


def _client():
    return _client_for(
        _ClientSettings(
            secret_key=settings.STRIPE_SECRET_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout=settings.STRIPE_TIMEOUT,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )
    )


def _call(operation, *args, **kwargs):
    """Run one SDK call and translate its errors into ours."""
    try:
        return operation(*args, **kwargs).to_dict()
    except stripe.CardError as error:
        raise CardDeclined(
            error.user_message or "Your card was declined.",
            code=error.code,
            stripe_id=_error_object_id(error),
        ) from None
    except (stripe.AuthenticationError, stripe.PermissionError) as error:
        log.critical("Stripe refused our API key: %s", type(error).__name__)
        raise PaymentMisconfigured("Payments are not available right now.") from None
    except stripe.IdempotencyError:
        # A key reused with other parameters is our bug, never the shopper's: the
        # outcome of the first request is unknown here, so leave it to reconciliation.
        log.error("Stripe refused a reused idempotency key")
        raise PaymentUnavailable("The payment could not be confirmed yet.") from None
    except stripe.InvalidRequestError as error:
        raise PaymentRejected(
            error.user_message or "The payment request was refused.",
            code=error.code,
            stripe_id=_error_object_id(error),
        ) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        log.warning("Stripe unavailable: %s", type(error).__name__)
        raise PaymentUnavailable(
            "The payment service is unavailable; the order is kept and will be settled."
        ) from None
    except stripe.StripeError as error:
        log.error("Unexpected Stripe error: %s", type(error).__name__)
        raise PaymentUnavailable("The payment could not be confirmed yet.") from None


def _error_object_id(error):
    """The charge or PaymentIntent a card error refers to, if Stripe named one."""
    body = error.json_body or {}
    details = body.get("error", {})
    intent = details.get("payment_intent") or {}
    return details.get("charge") or (intent.get("id") if isinstance(intent, dict) else "")


def create_charge(*, amount, currency, source, order_id, description, idempotency_key):
    return _call(
        _client().v1.charges.create,
        {
            "amount": amount,
            "currency": currency,
            "source": source,
            "description": description,
            "metadata": {"order_id": str(order_id)},
        },
        {"idempotency_key": idempotency_key},
    )


def find_charges_for_order(order_id):
    """Stripe's charges carrying this order id in their metadata, newest first."""
    result = _call(
        _client().v1.charges.search, {"query": f"metadata['order_id']:'{int(order_id)}'"}
    )
    return result["data"]


def create_refund(*, charge_id="", payment_intent_id="", order_id, idempotency_key):
    params = {"metadata": {"order_id": str(order_id)}}
    if payment_intent_id:
        params["payment_intent"] = payment_intent_id
    else:
        params["charge"] = charge_id
    return _call(_client().v1.refunds.create, params, {"idempotency_key": idempotency_key})


def verify_webhook(payload, signature_header):
    """The event, if Stripe signed these exact bytes with our webhook secret; else None."""
    try:
        event = stripe.Webhook.construct_event(
            payload, signature_header, settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return None
    return event.to_dict()
