"""Old orders are not paid at old prices, and abandoned payments end (issue 11, defect 8).

pay/ on a FAILED order whose product is no longer for sale, or whose price changed, is
refused before Stripe hears of it ("place a new order"). A PaymentIntent left waiting for
the shopper's 3-D Secure step for more than a day is cancelled by reconcile_orders, and
its order FAILED with a sentence the shopper understands.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, PaymentAttempt
from tests.helpers import (
    stripe_client,
)
from tests.orders.attempt_helpers import (
    declined_order_of,
    order_in,
    pay,
    place,
    reconcile,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def declined_order(shopper_api, product, devstripe):
    return declined_order_of(shopper_api, product)


def withdraw(product):
    product.active = False
    product.save()


def reprice(product):
    product.price = product.price + Decimal("5.00")
    product.save()


def test_a_failed_order_may_be_paid_while_its_product_is_for_sale_at_its_price(
    shopper_api, declined_order
):
    order = shopper_api.get(f"/api/order/{declined_order.id}/").json()

    assert (order["status"], order["can_pay"], order["payment_pending"]) == ("FAILED", True, False)


@pytest.mark.parametrize("change", [withdraw, reprice], ids=["no-longer-for-sale", "price-changed"])
def test_an_old_order_is_not_paid_after_its_product_changed(
    shopper_api, declined_order, product, devstripe, change
):
    change(product)
    asked_stripe = len(devstripe.requests())

    response = pay(shopper_api, declined_order.id, "pm_card_visa")

    assert len(devstripe.requests()) == asked_stripe
    assert response.status_code == 409
    assert "place a new order" in response.json()["error"].lower()
    declined_order.refresh_from_db()
    assert declined_order.status == "FAILED"
    assert response.json()["order"]["status"] == "FAILED"
    assert response.json()["order"]["can_pay"] is False


@pytest.fixture
def waiting_for_the_shopper(shopper_api, product, devstripe):
    """A 3-D Secure card: the PaymentIntent waits in requires_action for the shopper."""
    response = place(shopper_api, product, payment_method="pm_card_authenticationRequired")
    assert response.status_code == 202
    return order_in(response)


def left_waiting_for(order, age):
    then = timezone.now() - age
    Order.objects.filter(pk=order.pk).update(created=then, updated=then)
    PaymentAttempt.objects.filter(order=order).update(created=then, updated=then)


def intent_at_stripe(devstripe, order):
    return stripe_client(devstripe).v1.payment_intents.retrieve(order.stripe_payment_intent_id)


def test_a_payment_left_waiting_for_3d_secure_for_a_day_is_cancelled(
    waiting_for_the_shopper, devstripe
):
    order = waiting_for_the_shopper
    left_waiting_for(order, timedelta(days=1, hours=1))

    output = reconcile()

    order.refresh_from_db()
    assert order.status == "FAILED", output
    assert order.failure_message.endswith("."), order.failure_message
    assert "PaymentIntent" not in order.failure_message
    assert intent_at_stripe(devstripe, order).status == "canceled"
    assert f"order {order.id}" in output


def test_a_payment_waiting_for_3d_secure_for_an_hour_is_left_alone(
    waiting_for_the_shopper, devstripe
):
    order = waiting_for_the_shopper
    left_waiting_for(order, timedelta(hours=1))

    reconcile()

    order.refresh_from_db()
    assert order.status == "PENDING"
    assert intent_at_stripe(devstripe, order).status == "requires_action"
