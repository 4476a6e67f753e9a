import logging
from typing import Any

from django.conf import settings
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
        return order.status == Order.Status.PENDING or order.outcome_unknown()

    def get_can_pay(self, order: Order) -> bool:
        return order.status == Order.Status.FAILED and not (
            order.outcome_unknown() or checkout.payable_again_refusal(order)
        )


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
    # Exactly one of the two: a Stripe.js token (Charges API, the original flow) or a
    # PaymentMethod (PaymentIntents, which can ask for 3-D Secure).
    token = serializers.CharField(max_length=255, required=False)
    payment_method = serializers.CharField(max_length=255, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if bool(data.get("token")) == bool(data.get("payment_method")):
            message = (
                "Send either token (a Stripe token such as tok_visa) or payment_method "
                "(a PaymentMethod such as pm_card_visa), not both."
                if data.get("token")
                else "token is required (a Stripe token such as tok_visa), "
                "or payment_method (a PaymentMethod such as pm_card_visa)."
            )
            raise serializers.ValidationError({"token": [message]})
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
    payment_method = serializers.CharField(
        max_length=255,
        error_messages={
            "required": "payment_method is required (a PaymentMethod such as pm_card_visa).",
            "blank": "payment_method is required (a PaymentMethod such as pm_card_visa).",
        },
    )
