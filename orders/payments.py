"""The one place where the shop talks to Stripe.

Thin functions: each calls Stripe with the idempotency key it is given and returns a
small frozen `StripePayment` in the shop's own words, or raises one of this module's
exceptions. No caller ever sees a `stripe.*` class, a Stripe dict or a Stripe status
string. STRIPE_API_BASE only changes where the SDK sends its requests (devstripe
locally and in tests); the code path is the same.

Every charge and PaymentIntent the shop makes carries, in its metadata, the order's id
and the idempotency key of the request that made it: that is how the shop tells its
own objects from another database's that share the Stripe account (see
`orders.settlement`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

import stripe
from django.conf import settings

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses

log = logging.getLogger("orders.payments")

# The Stripe API version the shop is written against: sent on every request (so an
# account's default version never changes what the shop reads), and the version to
# create the webhook endpoint with (README, "Webhooks"). It is the one the installed
# stripe SDK is pinned to; change both together, after reading Stripe's changelog.
STRIPE_API_VERSION = "2026-10-28.endive"


class Outcome(StrEnum):
    """Where a charge or PaymentIntent stands, in the shop's words."""

    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"  # the bank waits for the shopper (3-D Secure)
    PROCESSING = "processing"  # Stripe has not decided yet
    DECLINED = "declined"  # this try failed; the PaymentIntent may be confirmed again
    CANCELED = "canceled"  # the PaymentIntent can never be paid
    OPEN = "open"  # waiting for a card or a confirmation: nothing tried, nothing failed


# Stripe's API words some failures for developers; the shopper reads these instead (the
# wording Stripe.js itself shows).
SHOPPER_MESSAGES = {
    "payment_intent_authentication_failure": (
        "We are unable to authenticate your payment method. "
        "Please choose a different payment method and try again."
    ),
}
CANCELED_MESSAGE = "The payment was canceled."
# A ConfirmationToken Stripe refused (used already, expired, unknown): the payment
# details must be entered again, which makes a new one.
CONFIRMATION_TOKEN_REFUSED = (
    "Your payment details could not be used (they expired or were already used). "
    "Please enter them again."
)

# Webhook events whose object the shop settles orders from.
HANDLED_EVENTS = frozenset(
    {
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.canceled",
    }
)


@dataclass(frozen=True)
class StripePayment:
    """A charge or a PaymentIntent as Stripe has it, reduced to what the shop decides on."""

    object_type: str  # "charge" or "payment_intent"
    id: str
    outcome: Outcome
    amount: int | None
    currency: str
    # From the metadata the shop wrote: the order it claims, and the request that made it.
    order_id: int | None
    idempotency_key: str
    # A charge's PaymentIntent, or a PaymentIntent's own id.
    payment_intent_id: str
    # A charge's own id, or a PaymentIntent's latest charge.
    charge_id: str
    payment_method: str
    refunded: bool = False
    client_secret: str = ""
    failure_code: str = ""
    failure_message: str = ""  # for the shopper
    # From the charge (a PaymentIntent's when its latest_charge was expanded), for the
    # shopper's receipt: the card's brand ("visa") and last four digits, and Stripe's
    # own page for the payment. "" when Stripe did not say.
    card_brand: str = ""
    card_last4: str = ""
    receipt_url: str = ""

    @property
    def is_payment_intent(self) -> bool:
        return self.object_type == "payment_intent"


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    payment: StripePayment | None  # None for an event whose object the shop does not read
    # The idempotency key of the API request that caused the event, if any.
    request_key: str
    # The API version Stripe rendered the event's object with ("" when it did not say).
    api_version: str = ""


class PaymentError(Exception):
    """Stripe did not move the money as asked; `message` is for the shopper."""

    def __init__(self, message: str, code: str = "", payment: StripePayment | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or ""
        # The charge or PaymentIntent Stripe returned with its error, if any.
        self.payment = payment


class CardDeclined(PaymentError):
    """The card was declined (or failed authentication): the shopper may try another."""


class PaymentRejected(PaymentError):
    """Stripe refused the request itself, e.g. an unknown or already used token."""


class PaymentUnavailable(PaymentError):
    """Stripe could not be reached or failed; the outcome is unknown until settled."""


class PaymentMisconfigured(PaymentError):
    """Our Stripe key is missing, wrong or lacks permission: an operator must act."""


UNAVAILABLE_MESSAGE = "The payment service is unavailable; the order is kept and will be settled."


@dataclass(frozen=True)
class _ClientSettings:
    secret_key: str
    api_base: str
    timeout: float
    max_network_retries: int


@functools.lru_cache(maxsize=4)
def _client_for(config: _ClientSettings) -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = (
        {"api": config.api_base.rstrip("/")} if config.api_base else None
    )
    return stripe.StripeClient(
        config.secret_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses=base_addresses,
        max_network_retries=config.max_network_retries,
        http_client=stripe.RequestsClient(timeout=config.timeout),
    )


def _client() -> stripe.StripeClient:
    return _client_for(
        _ClientSettings(
            secret_key=settings.STRIPE_SECRET_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout=settings.STRIPE_TIMEOUT,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )
    )


def _call(
    method: str, path: str, params: dict[str, Any] | None = None, *, idempotency_key: str = ""
) -> dict[str, Any]:
    """One request to Stripe's API (`path` as its reference writes it), answered with
    Stripe's JSON; the SDK's errors are translated into ours.

    The SDK's `raw_request` sends it exactly as its typed services would (the same
    authentication, Stripe-Version, form encoding, retries with the same idempotency key,
    and error classes), but keeps Stripe's JSON as it is: the typed services build a
    StripeObject for every nested object (18 for a charge), which the shop would only
    turn back into a dict (issue 13: 6 % of a paid order's CPU).
    """
    options = {"idempotency_key": idempotency_key} if idempotency_key else {}
    try:
        response = _client().raw_request(method, path, **(params or {}), **options)
    except stripe.StripeError as error:
        raise translate(error) from None
    return response.data if isinstance(response.data, dict) else {}


def _path(template: str, stripe_id: str) -> str:
    """An API path naming one object, its id escaped as the SDK escapes it."""
    return template.format(quote(stripe_id, safe=""))


def translate(error: stripe.StripeError) -> PaymentError:
    """The shop's exception for an error the Stripe SDK raised (logged here when it matters)."""
    if isinstance(error, stripe.CardError):
        return CardDeclined(
            error.user_message or "Your card was declined.",
            code=error.code or "",
            payment=_payment_in_error(error),
        )
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        log.critical("Stripe refused our API key", extra={"error_class": type(error).__name__})
        return PaymentMisconfigured("Payments are not available right now.")
    if isinstance(error, stripe.IdempotencyError):
        # A key reused with other parameters is our bug, never the shopper's: the
        # outcome of the first request is unknown here, so leave it to be settled.
        log.error("Stripe refused a reused idempotency key")
        return PaymentUnavailable("The payment could not be confirmed yet.")
    if isinstance(error, stripe.InvalidRequestError) and error.param == "confirmation_token":
        # Stripe's wording is for developers; the shopper only has to enter the details
        # again (the payment page makes a new token).
        return PaymentRejected(
            CONFIRMATION_TOKEN_REFUSED,
            code=error.code or "confirmation_token_refused",
            payment=_payment_in_error(error),
        )
    if isinstance(error, stripe.InvalidRequestError):
        return PaymentRejected(
            error.user_message or "The payment request was refused.",
            code=error.code or "",
            payment=_payment_in_error(error),
        )
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        log.warning("Stripe unavailable", extra={"error_class": type(error).__name__})
        return PaymentUnavailable(UNAVAILABLE_MESSAGE)
    log.error("Unexpected Stripe error", extra={"error_class": type(error).__name__})
    return PaymentUnavailable("The payment could not be confirmed yet.")


def _payment_in_error(error: stripe.StripeError) -> StripePayment | None:
    """The PaymentIntent (or charge id) Stripe sent back with an error, if any."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error")
    return parse_payment(details.get("payment_intent")) if isinstance(details, dict) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id_of(value: Any) -> str:
    """An expandable field: an id, or the object itself."""
    if isinstance(value, dict):
        return _text(value.get("id"))
    return _text(value)


def _order_id(metadata: dict[str, Any]) -> int | None:
    raw = _text(metadata.get("order_id"))
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


# The shop's columns for Stripe's ids (Stripe's own are far shorter).
STRIPE_ID_MAX_LENGTH = 255


def _failure_text(code: str, message: str) -> str:
    return (SHOPPER_MESSAGES.get(code) or message or "The payment failed.")[:500]


# The shop's columns for a charge's card and receipt page (orders.models.Order).
CARD_BRAND_MAX_LENGTH = 32
RECEIPT_URL_MAX_LENGTH = 500
_CARD_BRAND = re.compile(r"[a-z][a-z0-9_]*")
_LAST4 = re.compile(r"[0-9]{4}")
# A web address and nothing else: no space or control character could ride into an email.
_RECEIPT_URL = re.compile(r"https?://[\x21-\x7e]+")


class _ReceiptDetails(TypedDict):
    card_brand: str
    card_last4: str
    receipt_url: str


def _receipt_details(charge: Any) -> _ReceiptDetails:
    """The card and receipt page of a charge (a dict in Stripe's shape), each "" when
    Stripe did not give it or gave something that is not one."""
    if not isinstance(charge, dict):
        return {"card_brand": "", "card_last4": "", "receipt_url": ""}
    details: Any = charge.get("payment_method_details")
    card: Any = details.get("card") if isinstance(details, dict) else None
    card = card if isinstance(card, dict) else {}
    brand, last4, url = (
        _text(card.get("brand")),
        _text(card.get("last4")),
        _text(charge.get("receipt_url")),
    )
    return {
        "card_brand": brand
        if len(brand) <= CARD_BRAND_MAX_LENGTH and _CARD_BRAND.fullmatch(brand)
        else "",
        "card_last4": last4 if _LAST4.fullmatch(last4) else "",
        "receipt_url": url
        if len(url) <= RECEIPT_URL_MAX_LENGTH and _RECEIPT_URL.fullmatch(url)
        else "",
    }


def parse_payment(data: Any) -> StripePayment | None:
    """A Stripe charge or PaymentIntent (a dict in Stripe's shape), or None for anything else."""
    if not isinstance(data, dict) or data.get("object") not in ("charge", "payment_intent"):
        return None
    ids = ("id", "payment_intent", "latest_charge", "payment_method")
    if any(len(_id_of(data.get(field))) > STRIPE_ID_MAX_LENGTH for field in ids):
        return None  # not an object of Stripe's, and no column could hold it
    # Stripe's JSON: the isinstance checks, not the types, say what each value is.
    metadata: Any = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    amount = data.get("amount")
    if not (isinstance(amount, int) and not isinstance(amount, bool) and 0 <= amount < 2**63):
        amount = None  # Stripe's amounts are never negative, nor beyond a 64-bit column
    common = {
        "object_type": data["object"],
        "id": _text(data.get("id")),
        "amount": amount,
        "currency": _text(data.get("currency")).lower(),
        "order_id": _order_id(metadata),
        "idempotency_key": _text(metadata.get("idempotency_key")),
    }
    status = _text(data.get("status"))  # a list or an object is no status (and unhashable)
    if data["object"] == "charge":
        code = _text(data.get("failure_code"))
        outcome = {
            "succeeded": Outcome.SUCCEEDED,
            "failed": Outcome.DECLINED,
            "pending": Outcome.PROCESSING,
        }.get(status, Outcome.PROCESSING)
        return StripePayment(
            **common,
            outcome=outcome,
            payment_intent_id=_id_of(data.get("payment_intent")),
            charge_id=common["id"],
            payment_method=_text(data.get("payment_method")),
            refunded=data.get("refunded") is True,
            **_receipt_details(data),
            failure_code=code[:100],
            failure_message=(
                _failure_text(code, _text(data.get("failure_message")))
                if outcome == Outcome.DECLINED
                else ""
            ),
        )
    error: Any = (
        data.get("last_payment_error") if isinstance(data.get("last_payment_error"), dict) else {}
    )
    if status == "succeeded":
        outcome = Outcome.SUCCEEDED
    elif status in ("requires_action", "requires_source_action"):
        outcome = Outcome.REQUIRES_ACTION
    elif status == "processing":
        outcome = Outcome.PROCESSING
    elif status == "canceled":
        outcome = Outcome.CANCELED
    elif status in ("requires_payment_method", "requires_source") and error:
        outcome = Outcome.DECLINED
    else:
        outcome = Outcome.OPEN
    code = _text(error.get("code")) or ("canceled" if outcome == Outcome.CANCELED else "")
    failure = ""
    if outcome == Outcome.DECLINED:
        failure = _failure_text(code, _text(error.get("message")))
    elif outcome == Outcome.CANCELED:
        failure = CANCELED_MESSAGE
    return StripePayment(
        **common,
        outcome=outcome,
        payment_intent_id=common["id"],
        charge_id=_id_of(data.get("latest_charge")),
        payment_method=_id_of(data.get("payment_method")) or _id_of(error.get("payment_method")),
        client_secret=_text(data.get("client_secret"))
        if outcome == Outcome.REQUIRES_ACTION
        else "",
        failure_code=code[:100],
        failure_message=failure,
        **_receipt_details(data.get("latest_charge")),  # when it was expanded
    )


def _metadata(order_id: int, idempotency_key: str) -> dict[str, str]:
    return {"order_id": str(order_id), "idempotency_key": idempotency_key}


def _payment(data: dict[str, Any]) -> StripePayment:
    payment = parse_payment(data)
    if payment is None:  # Stripe answered with something else: treat it as no answer
        raise PaymentUnavailable("The payment could not be confirmed yet.")
    return payment


def create_charge(
    *,
    amount: int,
    currency: str,
    source: str,
    order_id: int,
    description: str,
    idempotency_key: str,
) -> StripePayment:
    return _payment(
        _call(
            "post",
            "/v1/charges",
            {
                "amount": amount,
                "currency": currency,
                "source": source,
                "description": description,
                "metadata": _metadata(order_id, idempotency_key),
            },
            idempotency_key=idempotency_key,
        )
    )


def create_payment_intent(
    *, amount: int, currency: str, order_id: int, description: str, idempotency_key: str
) -> StripePayment:
    """Create the order's PaymentIntent, unconfirmed and without a payment method.

    Its parameters never change for an order, so repeating the creation with the
    order's key always returns this same PaymentIntent: an order has one, ever. Each
    try is then a confirmation of it (`confirm_payment_intent`). Automatic payment
    methods let the shopper pay with whatever the Payment Element offers (cards, bank
    redirects, bank debits that settle later); some redirect, so every confirmation
    sends a return_url.
    """
    return _payment(
        _call(
            "post",
            "/v1/payment_intents",
            {
                "amount": amount,
                "currency": currency,
                "automatic_payment_methods": {"enabled": True},
                "description": description,
                "metadata": _metadata(order_id, idempotency_key),
            },
            idempotency_key=idempotency_key,
        )
    )


def confirmation_params(
    *, payment_method: str = "", confirmation_token: str = "", return_url: str = ""
) -> dict[str, Any]:
    """What a confirmation of the order's PaymentIntent sends: a PaymentMethod or a
    ConfirmationToken, and where a redirecting method brings the shopper back.

    use_stripe_sdk keeps a card's 3-D Secure step in Stripe.js (next_action
    use_stripe_sdk, its modal) rather than a redirect to the bank's page. An attempt
    saved before return_urls existed has none: it is sent again exactly as it first was.
    """
    params: dict[str, Any] = (
        {"confirmation_token": confirmation_token}
        if confirmation_token
        else {"payment_method": payment_method}
    )
    if return_url:
        params.update(return_url=return_url, use_stripe_sdk=True)
    return params


def confirm_payment_intent(
    payment_intent_id: str,
    *,
    payment_method: str = "",
    confirmation_token: str = "",
    return_url: str = "",
    idempotency_key: str,
) -> StripePayment:
    """Confirm the order's PaymentIntent (one attempt) with a PaymentMethod or a
    ConfirmationToken (see confirmation_params)."""
    return _payment(
        _call(
            "post",
            _path("/v1/payment_intents/{}/confirm", payment_intent_id),
            confirmation_params(
                payment_method=payment_method,
                confirmation_token=confirmation_token,
                return_url=return_url,
            ),
            idempotency_key=idempotency_key,
        )
    )


def retrieve_payment_intent(payment_intent_id: str) -> StripePayment:
    """The PaymentIntent as Stripe has it now, with its latest charge expanded: the card
    and receipt page of a payment settled from it come at no extra request. (Only here:
    the confirmation keeps the parameters its idempotency key was first sent with.)"""
    return _payment(
        _call(
            "get",
            _path("/v1/payment_intents/{}", payment_intent_id),
            {"expand": ["latest_charge"]},
        )
    )


def retrieve_charge(charge_id: str) -> StripePayment:
    """A charge as Stripe has it now (a receipt reads its card and receipt page)."""
    return _payment(_call("get", _path("/v1/charges/{}", charge_id)))


def cancel_payment_intent(payment_intent_id: str, *, idempotency_key: str) -> StripePayment:
    return _payment(
        _call(
            "post",
            _path("/v1/payment_intents/{}/cancel", payment_intent_id),
            {"cancellation_reason": "abandoned"},
            idempotency_key=idempotency_key,
        )
    )


def _search(resource: str, order_id: int) -> list[StripePayment]:
    query = f"metadata['order_id']:'{int(order_id)}'"
    result = _call("get", f"/v1/{resource}/search", {"query": query})
    return [payment for payment in map(parse_payment, result.get("data") or []) if payment]


def find_payments_for_order(order_id: int) -> list[StripePayment]:
    """Stripe's charges and PaymentIntents that name this order in their metadata.

    Search is eventually consistent at Stripe (a new object can take a minute to show),
    so this is only for orders whose own requests can no longer be repeated.
    """
    return _search("charges", order_id) + _search("payment_intents", order_id)


def create_refund(
    *, charge_id: str = "", payment_intent_id: str = "", order_id: int, idempotency_key: str
) -> str:
    """Refund a charge (or a PaymentIntent's charge) in full; returns the refund's id."""
    params: dict[str, Any] = {"metadata": {"order_id": str(order_id)}}
    if payment_intent_id:
        params["payment_intent"] = payment_intent_id
    else:
        params["charge"] = charge_id
    refund = _call("post", "/v1/refunds", params, idempotency_key=idempotency_key)
    return _text(refund.get("id"))


def verify_webhook(payload: bytes, signature_header: str) -> WebhookEvent | None:
    """The event, if Stripe signed these exact bytes with our webhook secret; else None.

    An event of a shape the shop does not expect (no id or type, an object that is
    neither a charge nor a PaymentIntent) comes back with what could be read of it, so
    that it is acknowledged rather than retried by Stripe for days. Its id and type come
    back whole: the caller decides what to do with one too long to store.

    None too for a body that is not JSON text: not UTF-8, nested deeper than the parser
    goes, or with escapes that spell no character (a lone surrogate, "\\ud800", which
    no database can store).
    """
    if not signature_header.isascii():  # hmac.compare_digest raises TypeError on others
        return None
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, signature_header, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(text)
        json.dumps(event, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError: no text
    except (ValueError, RecursionError, stripe.SignatureVerificationError):
        return None
    if not isinstance(event, dict):
        event = {}
    data: Any = event.get("data") if isinstance(event.get("data"), dict) else {}
    # Before API version 2017-05-25, `request` is the request's id (a string): no key.
    request: Any = event.get("request") if isinstance(event.get("request"), dict) else {}
    event_id, api_version = _text(event.get("id")), _text(event.get("api_version"))
    payment = parse_payment(data.get("object"))
    if api_version and api_version != STRIPE_API_VERSION:
        # Rendered for another version (an endpoint created with another one): its
        # object is read only when it has the shape this version's code understands.
        understood = payment is not None and _understood(data.get("object"))
        log.warning(
            "webhook event of another Stripe API version",
            extra={
                "event_id": event_id[:STRIPE_ID_MAX_LENGTH],
                "api_version": api_version[:100],
                "expected": STRIPE_API_VERSION,
                "understood": understood,
            },
        )
        if not understood:
            payment = None
    return WebhookEvent(
        id=event_id,
        type=_text(event.get("type")),
        payment=payment,
        request_key=_text(request.get("idempotency_key")),
        api_version=api_version,
    )


# The statuses of this API version's objects: one of another version with a status
# outside these (or without the fields below) is of a shape the shop does not know.
_STATUSES = {
    "charge": frozenset({"succeeded", "pending", "failed"}),
    "payment_intent": frozenset(
        {
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "processing",
            "requires_capture",
            "canceled",
            "succeeded",
        }
    ),
}


def _understood(data: dict[str, Any]) -> bool:
    """A charge or PaymentIntent with every field the shop decides on, each of the type
    this API version gives it: only such an object of another version is acted on."""
    kind = data.get("object")
    statuses = _STATUSES.get(kind) if isinstance(kind, str) else None
    amount, metadata = data.get("amount"), data.get("metadata")
    return (
        statuses is not None
        and bool(_text(data.get("id")))
        and data.get("status") in statuses
        and isinstance(amount, int)
        and not isinstance(amount, bool)
        and bool(_text(data.get("currency")))
        and isinstance(metadata, dict)
    )
