"""Stripe's "succeeded" wins over a local FAILED (issue 11, defects 3 and 8).

A declined order paid again whose answer was lost is FAILED here while Stripe holds
its money: reconcile_orders looks at it and settles it PAID, and paying it again answers
with the PAID order instead of storing Stripe's developer text as its failure.
"""

import pytest

from tests.helpers import (
    payment_intents_at,
    stripe_client,
)
from tests.orders.attempt_helpers import (
    MUG_PRICE,
    declined_order_of,
    money_held_for,
    pay,
    reconcile,
    while_the_payment_answer_is_lost,
)

pytestmark = pytest.mark.django_db

STRIPES_DEVELOPER_TEXT = "You cannot confirm this PaymentIntent"


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


@pytest.fixture
def declined_order(shopper_api, mug, devstripe):
    return declined_order_of(shopper_api, mug)


@pytest.fixture
def paid_again_answer_lost(shopper_api, declined_order, devstripe):
    """The declined order paid again with a good card; Stripe took the money, the answer
    never came back (a dropped connection, a worker killed mid-call)."""
    lost = while_the_payment_answer_is_lost(
        devstripe, declined_order, lambda: pay(shopper_api, declined_order.id)
    )
    assert lost.status_code == 503
    assert lost.json()["order"]["status"] == "FAILED"
    [intent] = payment_intents_at(devstripe, declined_order)
    assert intent["status"] == "succeeded"
    return declined_order


def test_reconcile_settles_a_failed_order_whose_money_stripe_holds(paid_again_answer_lost):
    order = paid_again_answer_lost

    output = reconcile()

    order.refresh_from_db()
    assert order.status == "PAID", output
    assert order.failure_message == ""
    assert f"order {order.id}" in output


def test_an_unknown_outcome_is_shown_as_pending_not_as_a_failure(
    shopper_api, paid_again_answer_lost
):
    detail = shopper_api.get(f"/api/order/{paid_again_answer_lost.id}/")

    assert detail.json()["payment_pending"] is True
    assert detail.json()["can_pay"] is False


def test_paying_again_after_a_lost_answer_answers_with_the_paid_order(
    shopper_api, paid_again_answer_lost, devstripe
):
    order = paid_again_answer_lost

    again = pay(shopper_api, order.id, "pm_card_visa")

    assert again.status_code in (200, 409), again.json()
    assert again.json()["order"]["status"] == "PAID"
    assert STRIPES_DEVELOPER_TEXT not in again.content.decode()
    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.failure_message == ""
    assert money_held_for(devstripe, order) == order.amount


def test_stripe_saying_the_payment_intent_already_succeeded_settles_the_order_paid(
    shopper_api, declined_order, devstripe
):
    # The PaymentIntent was paid where the shop never heard of it (a confirmation whose
    # request died before anything was written): confirming it again is refused by
    # Stripe with payment_intent_unexpected_state and the succeeded PaymentIntent.
    stripe_client(devstripe).v1.payment_intents.confirm(
        declined_order.stripe_payment_intent_id,
        {"payment_method": "pm_card_visa", "return_url": "https://shop.test/"},
    )

    again = pay(shopper_api, declined_order.id, "pm_card_mastercard")

    assert again.status_code in (200, 409), again.json()
    assert again.json()["order"]["status"] == "PAID"
    assert STRIPES_DEVELOPER_TEXT not in again.content.decode()
    declined_order.refresh_from_db()
    assert declined_order.status == "PAID"
    assert declined_order.failure_message == ""
    assert money_held_for(devstripe, declined_order) == declined_order.amount
