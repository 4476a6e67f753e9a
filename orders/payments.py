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

    def __init__(self, message, code="", stripe_id="", payment_intent_id=""):
        super().__init__(message)
        self.message = message
        self.code = code or ""
        # The charge (or PaymentIntent) Stripe named in its error, if any.
        self.stripe_id = stripe_id or ""
        self.payment_intent_id = payment_intent_id or ""


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
            **_error_object_ids(error),
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
            **_error_object_ids(error),
        ) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        log.warning("Stripe unavailable: %s", type(error).__name__)
        raise PaymentUnavailable(
            "The payment service is unavailable; the order is kept and will be settled."
        ) from None
    except stripe.StripeError as error:
        log.error("Unexpected Stripe error: %s", type(error).__name__)
        raise PaymentUnavailable("The payment could not be confirmed yet.") from None


def _error_object_ids(error):
    """The charge and PaymentIntent an error refers to, where Stripe named them."""
    details = (error.json_body or {}).get("error", {})
    intent = details.get("payment_intent") or {}
    return {
        "stripe_id": details.get("charge") or "",
        "payment_intent_id": intent.get("id", "") if isinstance(intent, dict) else "",
    }


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


def create_payment_intent(
    *, amount, currency, payment_method, order_id, description, idempotency_key
):
    """Create and confirm a PaymentIntent in one call (server-side confirmation).

    Limited to cards with payment_method_types: the pop-up only takes cards, and on
    current API versions a PaymentIntent left to automatic payment methods may not be
    confirmed without a return_url (some methods redirect). Cards never redirect away
    from the page here: a 3-D Secure challenge comes back as `requires_action` and
    Stripe.js's handleNextAction shows it in the page.
    """
    return _call(
        _client().v1.payment_intents.create,
        {
            "amount": amount,
            "currency": currency,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "confirm": True,
            "description": description,
            "metadata": {"order_id": str(order_id)},
        },
        {"idempotency_key": idempotency_key},
    )


def confirm_payment_intent(payment_intent_id, *, payment_method, idempotency_key):
    """Confirm an existing PaymentIntent again, with another card (a new attempt)."""
    return _call(
        _client().v1.payment_intents.confirm,
        payment_intent_id,
        {"payment_method": payment_method},
        {"idempotency_key": idempotency_key},
    )


def retrieve_payment_intent(payment_intent_id):
    return _call(_client().v1.payment_intents.retrieve, payment_intent_id)


def find_payment_intents_for_order(order_id):
    result = _call(
        _client().v1.payment_intents.search,
        {"query": f"metadata['order_id']:'{int(order_id)}'"},
    )
    return result["data"]


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
