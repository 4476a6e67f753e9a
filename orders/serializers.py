from typing import Any

from django.conf import settings
from rest_framework import serializers

from catalog.models import Product
from catalog.serializers import ProductSerializer
from orders import checkout
from orders.models import Order


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
        ]
        read_only_fields = fields

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
        return data


class PayAgainSerializer(serializers.Serializer):
    payment_method = serializers.CharField(
        max_length=255,
        error_messages={
            "required": "payment_method is required (a PaymentMethod such as pm_card_visa).",
            "blank": "payment_method is required (a PaymentMethod such as pm_card_visa).",
        },
    )
