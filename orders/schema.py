"""OpenAPI description of the order views (see stripedemo/schema.py).

The response shapes are those of orders/views.py: `order_response` and
`settled_response` build the success and payment-error envelopes, stripedemo.errors the
others, orders/idempotency.py decides 409 and 422.
"""

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import (
    Direction,
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers

from orders.idempotency import KEY_MAX_LENGTH
from orders.serializers import OrderSerializer, PayAgainSerializer, PlaceOrderSerializer
from stripedemo.errors import error_body
from stripedemo.schema import (
    BODY_ERRORS,
    UNAUTHENTICATED,
    ErrorSerializer,
    TrueField,
    error,
)

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema


def _exactly_one_of(*names: str) -> list[dict[str, Any]]:
    """JSON Schema for "exactly one of these properties": each alternative requires one
    and forbids the others."""
    return [
        {
            "required": [name],
            "not": {"anyOf": [{"required": [other]} for other in names if other != name]},
        }
        for name in names
    ]


class PlaceOrderSchema(OpenApiSerializerExtension):
    """`token`, `payment_method` and `confirmation_token` exclude each other: exactly
    one is required."""

    target_class = PlaceOrderSerializer

    def map_serializer(self, auto_schema: "AutoSchema", direction: Direction) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["oneOf"] = _exactly_one_of("token", "payment_method", "confirmation_token")
        return schema


class PayAgainSchema(OpenApiSerializerExtension):
    """`payment_method` and `confirmation_token` exclude each other: exactly one."""

    target_class = PayAgainSerializer

    def map_serializer(self, auto_schema: "AutoSchema", direction: Direction) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["oneOf"] = _exactly_one_of("payment_method", "confirmation_token")
        return schema


class OrderResultSerializer(serializers.Serializer):
    """The order, paid."""

    success = TrueField()
    order = OrderSerializer()

    class Meta:
        ref_name = "OrderResult"


class OrderPendingSerializer(OrderResultSerializer):
    """The order, not settled yet: it may wait for the shopper (3-D Secure, a bank's
    page), or Stripe may be processing it (`order.payment_processing`)."""

    requires_action = TrueField(
        required=False,
        help_text="The payment waits for the shopper: run Stripe.js "
        "`handleNextAction({clientSecret})` in the browser. A card's 3-D Secure step "
        "resolves in the page, then `POST .../confirm/`; a redirecting method (a bank's "
        "page) leaves the page and comes back to the order's page (`?order=<id>`), which "
        "then asks `confirm/`.",
    )
    client_secret = serializers.CharField(
        required=False,
        help_text="The PaymentIntent's client secret, for Stripe.js (with `requires_action`).",
    )

    class Meta:
        ref_name = "OrderPending"


class PaymentErrorSerializer(ErrorSerializer):
    """A payment that did not go through, and the order as it is now."""

    order = OrderSerializer(help_text="The order as it is now (`FAILED`, or `PENDING`).")

    class Meta:
        ref_name = "PaymentError"


class OrderRequestErrorSerializer(ErrorSerializer):
    """Invalid input (with `fields`), or a payment request Stripe refused (with `order`)."""

    order = OrderSerializer(
        required=False,
        help_text="Present when Stripe refused the payment request (the order is `FAILED`); "
        "absent for invalid input (then `fields` says what to fix).",
    )

    class Meta:
        ref_name = "OrderRequestError"


class IdempotencyConflictSerializer(ErrorSerializer):
    """The first request with this Idempotency-Key is still running."""

    order_id = serializers.IntegerField(
        required=False, help_text="The order the first request placed, once it exists."
    )

    class Meta:
        ref_name = "IdempotencyConflict"


class OrderPageSerializer(serializers.Serializer):
    """One page of your orders (with `?limit=`)."""

    count = serializers.IntegerField(help_text="All of your orders.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderSerializer(many=True)

    class Meta:
        ref_name = "OrderPage"


ORDER_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Order id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Optional, 1 to {KEY_MAX_LENGTH} characters: a fresh random value per purchase "
        "attempt (e.g. a UUID), compared byte for byte. Retrying with the same key and body "
        "replays the first answer (with `Idempotent-Replayed: true`) instead of paying "
        "again, for as long as its order exists; when the first request died or answered "
        "503, the replay answers with the order's current state instead. The same key with "
        "another body is a 422; while the first request is still running, a 409."
    ),
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    enum=["true"],
    response=[200, 201, 202, 400, 402, 503],
    description="Present when this is the saved answer to an earlier request with the "
    "same Idempotency-Key.",
)

PAID = OpenApiResponse(OrderResultSerializer, description="Paid: the order is `PAID`.")
PENDING = OpenApiResponse(
    OrderPendingSerializer,
    description="Not settled yet: the payment needs the shopper's step, a card's 3-D "
    "Secure or a bank's page (`requires_action` and `client_secret`), or Stripe is "
    "processing it (`order.payment_processing`: a bank debit, settled later by webhook).",
)
DECLINED = OpenApiResponse(
    PaymentErrorSerializer,
    description="The card was declined or failed authentication; the order is `FAILED` "
    "(with a PaymentMethod, pay it again with another card).",
)


class UnavailableSerializer(ErrorSerializer):
    """The payment's outcome is not known yet, or the shop could not take the request."""

    order = OrderSerializer(
        required=False,
        help_text="The order as it is now (`PENDING`, settled later). Absent when the shop "
        "could not take the request at all (its payment limits could not be counted): "
        "nothing was placed or paid; send it again.",
    )

    class Meta:
        ref_name = "Unavailable"


STRIPE_UNAVAILABLE = OpenApiResponse(
    UnavailableSerializer,
    description="Stripe could not be reached; the order stays `PENDING` and is settled "
    "later (by webhook or `reconcile_orders`). Rarely, the shop was too busy to take the "
    "request (no `order`): nothing was placed; send it again.",
)
NO_SUCH_ORDER = {404: error("No order with this id among yours.")}
THROTTLED = {
    429: error(
        "Too many payment attempts (per shopper and per address, fewer after several "
        "declined cards); the `Retry-After` header says how many seconds to wait."
    )
}

ORDER_EXAMPLE = {
    "id": 42,
    "product": {
        "id": 2,
        "name": "Idempotent T-shirt",
        "description": "Soft cotton tee. Wash it twice: it is still one t-shirt.",
        "price": "19.99",
        "currency": "usd",
        "image_url": "http://127.0.0.1:8000/static/catalog/products/tshirt.svg",
    },
    "quantity": 2,
    "amount": 3998,
    "currency": "usd",
    "status": "PAID",
    "created": "2025-01-31T12:00:00Z",
    "failure_message": "",
    "payment_pending": False,
    "payment_processing": False,
    "can_pay": False,
    "card_brand": "visa",
    "card_last4": "4242",
    "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8x",
}
FAILED_ORDER_EXAMPLE = {
    **ORDER_EXAMPLE,
    "status": "FAILED",
    "failure_message": "Your card was declined.",
    "can_pay": True,
}
FAILED_ORDER_EXAMPLE.update(card_brand="", card_last4="", receipt_url="")
PENDING_ORDER_EXAMPLE = {
    **FAILED_ORDER_EXAMPLE,
    "status": "PENDING",
    "failure_message": "",
    "payment_pending": True,
    "can_pay": False,
}
PROCESSING_ORDER_EXAMPLE = {**PENDING_ORDER_EXAMPLE, "payment_processing": True}


def _response_example(name: str, value: Any, status: int) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


PAID_EXAMPLE = _response_example("Paid", {"success": True, "order": ORDER_EXAMPLE}, 201)
DECLINED_EXAMPLE = _response_example(
    "Declined",
    {**error_body("Your card was declined."), "order": FAILED_ORDER_EXAMPLE},
    402,
)
REQUIRES_ACTION_EXAMPLE = _response_example(
    "3-D Secure required",
    {
        "success": True,
        "order": PENDING_ORDER_EXAMPLE,
        "requires_action": True,
        "client_secret": "pi_3Nq2_secret_d4e5",
    },
    202,
)
PROCESSING_EXAMPLE = _response_example(
    "Processing (bank debit)", {"success": True, "order": PROCESSING_ORDER_EXAMPLE}, 202
)

list_orders = extend_schema(
    operation_id="order_list",
    tags=["orders"],
    summary="Your orders, newest first",
    description=(
        "Without `limit`, a plain list of all your orders (the original clients' shape); "
        "with `limit`, a page `{count, next, previous, results}`."
    ),
    parameters=[
        OpenApiParameter(
            "limit", int, description="Orders per page (at most 100); turns on paging."
        ),
        OpenApiParameter("offset", int, description="Orders to skip (with `limit`)."),
    ],
    responses={
        200: PolymorphicProxySerializer(
            component_name="OrderListOrPage",
            serializers=[OrderSerializer(many=True), OrderPageSerializer],
            resource_type_field_name=None,
            many=False,
        ),
        **UNAUTHENTICATED,
    },
)

retrieve_order = extend_schema(
    operation_id="order_retrieve",
    tags=["orders"],
    summary="One of your orders",
    parameters=[ORDER_ID],
    responses={200: OrderSerializer, **UNAUTHENTICATED, **NO_SUCH_ORDER},
    examples=[_response_example("An order", ORDER_EXAMPLE, 200)],
)

place_order = extend_schema(
    operation_id="order_create",
    tags=["orders"],
    summary="Buy a product",
    description=(
        "Places an order for `quantity` × `product` and pays it at once with exactly one "
        "of: a Stripe.js `token` (Charges API, the original flow), a `payment_method` "
        "(PaymentIntents, which can ask for 3-D Secure), or a `confirmation_token` (the "
        "Payment Element's `stripe.createConfirmationToken`: cards, methods that redirect "
        "to a bank's page, bank debits that settle later). The amount is fixed from the "
        "catalog price, in cents. With Stripe's test mode (and devstripe) use test tokens "
        "such as `tok_visa`, `tok_chargeDeclined`, payment methods such as `pm_card_visa`, "
        "`pm_card_threeDSecure2Required`, or a ConfirmationToken made with "
        "`POST /v1/test_helpers/confirmation_tokens`. A redirecting method comes back to "
        "the order's page, `<FRONTEND_URL>/?order=<id>`."
    ),
    request=PlaceOrderSerializer,
    parameters=[IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED],
    responses={
        201: OpenApiResponse(OrderResultSerializer, description="Paid: the order is `PAID`."),
        202: PENDING,
        400: OpenApiResponse(
            OrderRequestErrorSerializer,
            description="Invalid input (`fields`), an Idempotency-Key that is not 1 to 255 "
            "characters, or Stripe refused the request, e.g. an unknown, used or expired "
            "token or ConfirmationToken (`order`, now `FAILED` and `can_pay`: enter the "
            "details again and `POST .../pay/`).",
        ),
        **UNAUTHENTICATED,
        402: DECLINED,
        409: error(
            "A request with this Idempotency-Key is still being processed; retry shortly "
            "to get its answer.",
            serializer=IdempotencyConflictSerializer,
        ),
        **BODY_ERRORS,
        422: error("This Idempotency-Key was already used with a different body."),
        **THROTTLED,
        503: STRIPE_UNAVAILABLE,
    },
    examples=[
        OpenApiExample(
            "Card token",
            value={"product": 1, "quantity": 2, "token": "tok_visa"},
            request_only=True,
        ),
        OpenApiExample(
            "PaymentMethod",
            value={"product": 1, "quantity": 1, "payment_method": "pm_card_visa"},
            request_only=True,
        ),
        OpenApiExample(
            "ConfirmationToken (Payment Element)",
            value={"product": 1, "quantity": 1, "confirmation_token": "ctoken_1Nq2Vb2eZvKYlo2C"},
            request_only=True,
        ),
        OpenApiExample(
            "Declined card",
            value={"product": 1, "quantity": 1, "token": "tok_chargeDeclined"},
            request_only=True,
        ),
        OpenApiExample(
            "3-D Secure card",
            value={"product": 1, "quantity": 1, "payment_method": "pm_card_threeDSecure2Required"},
            request_only=True,
        ),
        PAID_EXAMPLE,
        REQUIRES_ACTION_EXAMPLE,
        PROCESSING_EXAMPLE,
        _response_example(
            "Invalid input",
            error_body(
                "quantity must be at most 10.",
                fields={"quantity": ["quantity must be at most 10."]},
            ),
            400,
        ),
        DECLINED_EXAMPLE,
        _response_example(
            "Key in use",
            error_body(
                "A request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its result.",
                order_id=42,
            ),
            409,
        ),
        _response_example(
            "Stripe unavailable",
            {
                **error_body(
                    "The payment service is unavailable; the order is kept and will be settled."
                ),
                "order": PENDING_ORDER_EXAMPLE,
            },
            503,
        ),
    ],
)

confirm_order = extend_schema(
    operation_id="order_confirm",
    tags=["orders"],
    summary="Settle an order after the shopper's step (3-D Secure, a bank's page)",
    description=(
        "After Stripe.js has shown the card's 3-D Secure step, when the shopper comes back "
        "from a bank's page to the order's page (whatever its query says), or while an "
        "attempt's outcome is unknown (`payment_pending`) or Stripe processes the payment "
        "(`payment_processing`), ask the shop to settle the order from what Stripe says "
        "(never from the browser's word). Harmless to repeat, and cheap to poll: within a "
        "few seconds of asking Stripe about an order it answers from the database; a paid "
        "order is returned as it is."
    ),
    request=None,
    parameters=[ORDER_ID],
    responses={
        200: PAID,
        202: PENDING,
        400: OpenApiResponse(
            PaymentErrorSerializer, description="Stripe refused to look the payment up."
        ),
        **UNAUTHENTICATED,
        402: DECLINED,
        **NO_SUCH_ORDER,
        429: error("Too many requests about this payment; see `Retry-After`."),
        503: STRIPE_UNAVAILABLE,
    },
    examples=[
        _response_example("Paid", {"success": True, "order": ORDER_EXAMPLE}, 200),
        PROCESSING_EXAMPLE,
        DECLINED_EXAMPLE,
    ],
)

pay_again = extend_schema(
    operation_id="order_pay",
    tags=["orders"],
    summary="Pay a failed order another way",
    description=(
        "For an order whose payment failed (or whose bank step was left unfinished): a "
        "new attempt with exactly one of another `payment_method` or a new "
        "`confirmation_token`, on the order's one PaymentIntent. Refused (409, with the "
        "order) while an earlier attempt's outcome is still unknown or Stripe is "
        "processing it, once the order is paid, and when its product is no longer for "
        "sale at the order's price (place a new order)."
    ),
    request=PayAgainSerializer,
    parameters=[ORDER_ID, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED],
    responses={
        200: PAID,
        202: PENDING,
        400: OpenApiResponse(
            OrderRequestErrorSerializer,
            description="Invalid input (`fields`), or Stripe refused the request (`order`).",
        ),
        **UNAUTHENTICATED,
        402: DECLINED,
        **NO_SUCH_ORDER,
        409: OpenApiResponse(
            PaymentErrorSerializer,
            description="The order is already paid or refunded, is still being paid (an "
            "earlier attempt's outcome is unknown, or Stripe is processing it), or its "
            "product is no longer for sale at its price (place a new order); or the "
            "Idempotency-Key's first request is still running.",
        ),
        **BODY_ERRORS,
        422: error("This Idempotency-Key was already used with a different body."),
        **THROTTLED,
        503: STRIPE_UNAVAILABLE,
    },
    examples=[
        OpenApiExample(
            "Another card", value={"payment_method": "pm_card_mastercard"}, request_only=True
        ),
        OpenApiExample(
            "Another ConfirmationToken",
            value={"confirmation_token": "ctoken_1Nq2Wc2eZvKYlo2D"},
            request_only=True,
        ),
        _response_example("Paid", {"success": True, "order": ORDER_EXAMPLE}, 200),
        DECLINED_EXAMPLE,
        _response_example(
            "Already paid",
            {**error_body("Order 42 is already paid."), "order": ORDER_EXAMPLE},
            409,
        ),
    ],
)
