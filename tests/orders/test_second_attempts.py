"""Paying an order a second time never takes its money twice (issue 11, defects 1 and 2).

One PaymentIntent per order, ever: two cards at once, or a card sent again after its
answer was lost, confirm that one PaymentIntent instead of making another. An outage
keeps the order PENDING until Stripe's answer is known, and settling it later charges
it once. An order left with two PaymentIntents by the old code is refunded in full.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import Order, PaymentAttempt
from tests.helpers import (
    payment_intents_at,
    stripe_client,
    succeeded_charges,
)
from tests.orders.attempt_helpers import (
    MUG_PRICE,
    HttpShopper,
    confirm,
    money_held_for,
    order_in,
    pay,
    place,
    reconcile,
    while_stripe_fails,
    while_the_payment_answer_is_lost,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


@pytest.fixture
def refused_order(shopper_api, mug, devstripe):
    """An order whose first PaymentMethod Stripe refused: FAILED, nothing paid.

    (The old code had made no PaymentIntent for it yet, so the next card created one.)
    """
    response = place(shopper_api, mug, payment_method="pm_does_not_exist")
    assert response.status_code == 400
    order = order_in(response)
    assert order.status == "FAILED"
    assert money_held_for(devstripe, order) == 0
    return order


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_two_cards_at_once_on_a_refused_order_make_one_payment_intent(
    shop_url, user, mug, devstripe
):
    refused = HttpShopper(shop_url, user).place(mug, payment_method="pm_does_not_exist")
    assert refused.status_code == 400
    order = Order.objects.get()
    assert order.status == "FAILED"
    devstripe.configure(latency_ms=300)  # both requests are in flight at once
    both_ready = threading.Barrier(2)

    def pay_now(_):
        shopper = HttpShopper(shop_url, user)  # a session per browser tab
        both_ready.wait()
        return shopper.pay(order.id, "pm_card_visa")

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(pay_now, range(2)))

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert {r.json()["order"]["id"] for r in responses} == {order.id}
    order.refresh_from_db()
    assert order.status == "PAID"
    [intent] = payment_intents_at(devstripe, order)
    assert intent["id"] == order.stripe_payment_intent_id
    assert money_held_for(devstripe, order) == order.amount


def test_a_card_sent_again_after_its_answer_was_lost_makes_no_second_payment_intent(
    shopper_api, refused_order, devstripe
):
    # Stripe pays the PaymentIntent; every answer is lost on the way back.
    lost = while_the_payment_answer_is_lost(
        devstripe, refused_order, lambda: pay(shopper_api, refused_order.id)
    )
    assert lost.status_code == 503
    [paid_at_stripe] = payment_intents_at(devstripe, refused_order)
    assert paid_at_stripe["status"] == "succeeded"

    # The page tries again with the same card.
    again = pay(shopper_api, refused_order.id, "pm_card_visa")

    assert again.status_code in (200, 409), again.json()
    assert again.json()["order"]["status"] == "PAID"
    [intent] = payment_intents_at(devstripe, refused_order)
    assert intent["id"] == paid_at_stripe["id"]
    refused_order.refresh_from_db()
    assert refused_order.status == "PAID"
    assert refused_order.stripe_payment_intent_id == intent["id"]
    assert money_held_for(devstripe, refused_order) == refused_order.amount


@pytest.fixture
def order_paid_twice_by_the_old_code(shopper_api, mug, devstripe):
    """A PAID order holding two succeeded PaymentIntents, as the old pay/ left them.

    The first is the order's own; the second was made by a later attempt of the same
    order, with that attempt's key and the order id in its metadata.
    """
    order = order_in(place(shopper_api, mug, payment_method="pm_card_visa"))
    assert order.status == "PAID"
    second = PaymentAttempt.objects.create(
        order=order,
        number=2,
        kind=PaymentAttempt.Kind.PAYMENT_INTENT,
        payment_source="pm_card_visa",
        idempotency_key=f"order-{order.id}-payment_intent-2-before-the-fix",
    )
    intent = stripe_client(devstripe).v1.payment_intents.create(
        {
            "amount": order.amount,
            "currency": order.currency,
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": {"order_id": str(order.id)},
        },
        {"idempotency_key": second.idempotency_key},
    )
    assert intent.status == "succeeded"
    PaymentAttempt.objects.filter(pk=second.pk).update(
        stripe_id=intent.id, status=PaymentAttempt.Status.SUCCEEDED
    )
    assert money_held_for(devstripe, order) == 2 * order.amount
    return order


def test_refunding_an_order_refunds_every_charge_it_holds(
    order_paid_twice_by_the_old_code, devstripe
):
    order = order_paid_twice_by_the_old_code

    call_command("refund_order", str(order.id), stdout=StringIO())

    order.refresh_from_db()
    assert order.status == "REFUNDED"
    charges = succeeded_charges(devstripe, order)
    assert len(charges) == 2
    assert [c["amount_refunded"] for c in charges] == [c["amount"] for c in charges]
    assert money_held_for(devstripe, order) == 0


@pytest.mark.parametrize(
    "payment", [{"payment_method": "pm_card_visa"}, {"token": "tok_visa"}], ids=["card", "token"]
)
def test_an_outage_keeps_the_order_pending_and_settling_it_charges_it_once(
    shopper_api, mug, devstripe, payment
):
    down = while_stripe_fails(
        devstripe, "error_500", "/v1/", lambda: place(shopper_api, mug, key="buy-1", **payment)
    )

    assert down.status_code == 503
    assert down.json()["order"]["status"] == "PENDING"
    assert down.json()["order"]["payment_pending"] is True
    first = order_in(down)

    # A new key for the same product is a new purchase, by design.
    second = place(shopper_api, mug, key="buy-2", **payment)
    assert second.status_code == 201
    assert second.json()["order"]["id"] != first.id

    # Stripe is back: the page polls confirm/, and reconcile runs (twice, as cron would).
    confirm(shopper_api, first.id)
    reconcile()
    reconcile()
    settled = confirm(shopper_api, first.id)

    first.refresh_from_db()
    assert first.status in ("PAID", "FAILED")
    assert len(succeeded_charges(devstripe, first)) == (1 if first.status == "PAID" else 0)
    assert money_held_for(devstripe, first) == (first.amount if first.status == "PAID" else 0)
    assert settled.json()["order"]["payment_pending"] is False
    assert len(succeeded_charges(devstripe)) == Order.objects.filter(status="PAID").count()
