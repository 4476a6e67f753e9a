import logging
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from catalog.currency import amount_in_smallest_unit
from catalog.models import Product
from catalog.serializers import ProductSerializer
from orders import checkout
from orders.models import Order

log = logging.getLogger("orders")

NOT_FOR_SALE = "This product cannot be sold at its current price."


class OrderSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True)
    payment_pending = serializers.SerializerMethodField(
        help_text="An attempt's outcome is not known yet (Stripe's answer was lost or is "
        "awaited): the shop is confirming it with Stripe; ask `confirm/` again shortly."
    )
    payment_processing = serializers.SerializerMethodField(
        help_text="Stripe is processing the order's payment (a bank debit, say; the order "
        "is `PENDING`, or `FAILED` and being paid again): it settles by webhook, maybe "
        "minutes (with real banks, days) later. "
        "Show it as processing, and read the order again now and then (`GET`)."
    )
    can_pay = serializers.SerializerMethodField(
        help_text="The order failed and may be paid again with another card "
        "(`POST .../pay/`): its product is still for sale at the same price."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "product",
            "quantity",
            "amount",
            "currency",
            "status",
            "created",
            "failure_message",
            "payment_pending",
            "payment_processing",
            "can_pay",
            "card_brand",
            "card_last4",
            "receipt_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "card_brand": {
                "help_text": "The paying card's brand as Stripe names it (visa, mastercard, "
                'amex, …); "" until the shop knows it.'
            },
            "card_last4": {
                "help_text": 'The paying card\'s last four digits; "" until the shop knows '
                "them (a PaymentIntent's are read for the receipt, just after payment)."
            },
            "receipt_url": {
                "help_text": "Stripe's page for the payment (its `receipt_url`), kept up to "
                'date with refunds; "" when Stripe gave none.'
            },
        }

    def get_payment_pending(self, order: Order) -> bool:
        return (
            order.status == Order.Status.PENDING
            or order.outcome_unknown()
            or order.payment_processing()
        )

    def get_payment_processing(self, order: Order) -> bool:
        return order.payment_processing()

    def get_can_pay(self, order: Order) -> bool:
        return order.status == Order.Status.FAILED and not (
            order.outcome_unknown()
            or order.payment_processing()
            or checkout.payable_again_refusal(order)
        )


def confirmation_token_field(**options: Any) -> serializers.CharField:
    """A ConfirmationToken's id, as stripe.createConfirmationToken gives it (ctoken_…)."""
    message = (
        "confirmation_token must be a ConfirmationToken id (ctoken_…) made by "
        "stripe.createConfirmationToken."
    )
    return serializers.CharField(
        max_length=255,
        validators=[RegexValidator(r"\Actoken_[A-Za-z0-9_]+\Z", message)],
        error_messages={"blank": message, "invalid": message, "max_length": message},
        **options,
    )


PLACE_SOURCES = ("token", "payment_method", "confirmation_token")
PLACE_REQUIRED = (
    "Send one way to pay: token (a Stripe token such as tok_visa), payment_method (a "
    "PaymentMethod such as pm_card_visa) or confirmation_token (a ConfirmationToken "
    "such as ctoken_…)."
)
PLACE_ONE_OF = (
    "Send only one of token, payment_method and confirmation_token: they are three ways to pay."
)
AGAIN_REQUIRED = (
    "Send one way to pay: payment_method (a PaymentMethod such as pm_card_visa) or "
    "confirmation_token (a ConfirmationToken such as ctoken_…)."
)
AGAIN_ONE_OF = "Send only one of payment_method and confirmation_token: they are two ways to pay."


def payment_source(data: dict[str, Any]) -> checkout.PaymentSource:
    """The one way to pay a validated request names."""
    for name in PLACE_SOURCES:
        if data.get(name):
            return checkout.PaymentSource(type=checkout.SourceType(name), value=data[name])
    raise ValueError("no way to pay in validated data")


class PlaceOrderSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.active(),
        error_messages={
            "required": "product is required.",
            "null": "product is required.",
            "does_not_exist": "Product {pk_value} does not exist or is not for sale.",
            "incorrect_type": "product must be a product id (a whole number).",
        },
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=settings.ORDER_MAX_QUANTITY,
        default=1,
        error_messages={
            "invalid": "quantity must be a whole number.",
            "min_value": "quantity must be at least {min_value}.",
            "max_value": "quantity must be at most {max_value}.",
        },
    )
    # Exactly one of the three: a Stripe.js token (Charges API, the original flow), a
    # PaymentMethod (PaymentIntents, which can ask for 3-D Secure), or a
    # ConfirmationToken (the Payment Element's stripe.createConfirmationToken).
    token = serializers.CharField(max_length=255, required=False)
    payment_method = serializers.CharField(max_length=255, required=False)
    confirmation_token = confirmation_token_field(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in PLACE_SOURCES if data.get(name)]
        if len(given) != 1:
            message = PLACE_ONE_OF if given else PLACE_REQUIRED
            raise serializers.ValidationError({name: [message] for name in given or ["token"]})
        product = data["product"]
        try:
            amount_in_smallest_unit(product.price, data["quantity"], product.currency)
        except ValueError as refusal:
            # The catalog refuses such prices (catalog.prices); one that got past it (a
            # change of Stripe's rules, a row written by hand) is an operator's to fix.
            log.warning(
                "product cannot be sold at its price",
                extra={"product_id": product.pk, "reason": str(refusal)},
            )
            raise serializers.ValidationError({"product": [NOT_FOR_SALE]}) from None
        return data


class PayAgainSerializer(serializers.Serializer):
    # Exactly one of the two: the order's PaymentIntent is confirmed with it.
    payment_method = serializers.CharField(
        max_length=255,
        required=False,
        error_messages={"blank": AGAIN_REQUIRED},
    )
    confirmation_token = confirmation_token_field(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("payment_method", "confirmation_token") if data.get(name)]
        if len(given) != 1:
            message = AGAIN_ONE_OF if given else AGAIN_REQUIRED
            raise serializers.ValidationError(
                {name: [message] for name in given or ["payment_method"]}
            )
        return data
