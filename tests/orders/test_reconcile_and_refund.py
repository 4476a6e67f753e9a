"""reconcile_orders settles what a crash or an outage left PENDING; refunds happen once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders import checkout, payments, refunds
from orders.models import Order, PaymentAttempt
from tests.helpers import charges_at

pytestmark = pytest.mark.django_db

ORDERS = "/api/order/"


def reconcile(older_than=0):
    out = StringIO()
    call_command("reconcile_orders", f"--older-than={older_than}", stdout=out, stderr=out)
    return out.getvalue()


def charges_at_stripe(devstripe):
    return charges_at(devstripe)


@pytest.fixture
def order_left_pending(shopper_api, product, devstripe):
    """Stripe charged the card, but every answer was lost on the way back (as in a crash)."""
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after", times=3)
    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")
    assert response.status_code == 503
    return Order.objects.get(pk=response.json()["order"]["id"])


def test_a_charge_whose_answer_was_lost_is_found_and_the_order_paid(order_left_pending, devstripe):
    assert order_left_pending.status == "PENDING"
    assert len(charges_at_stripe(devstripe)) == 1

    output = reconcile()

    order_left_pending.refresh_from_db()
    assert order_left_pending.status == "PAID"
    assert order_left_pending.stripe_charge_id == charges_at_stripe(devstripe)[0]["id"]
    assert f"order {order_left_pending.id}: PENDING -> PAID" in output
    assert len(charges_at_stripe(devstripe)) == 1


def test_reconcile_is_safe_to_run_again(order_left_pending, devstripe):
    reconcile()
    output = reconcile()

    assert "reconciled 0 order(s)" in output
    assert len(charges_at_stripe(devstripe)) == 1


def test_a_charge_stripe_never_got_is_sent_again_with_its_key(shopper_api, product, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=3)
    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")
    order = Order.objects.get(pk=response.json()["order"]["id"])
    assert order.status == "PENDING"
    assert charges_at_stripe(devstripe) == []

    reconcile()

    order.refresh_from_db()
    assert order.status == "PAID"
    [charge] = charges_at_stripe(devstripe)
    key = order.attempts.get().idempotency_key
    assert {
        r["idempotency_key"] for r in devstripe.requests(path="/v1/charges", method="POST")
    } == {key}
    assert charge["metadata"] == {"order_id": str(order.id), "idempotency_key": key}


def test_a_declined_retry_fails_the_order(shopper_api, product, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=3)
    response = shopper_api.post(
        ORDERS, {"product": product.id, "token": "tok_chargeDeclined"}, format="json"
    )
    assert response.status_code == 503

    reconcile()

    assert Order.objects.get().status == "FAILED"


def test_young_orders_are_left_alone(order_left_pending, devstripe):
    reconcile(older_than=3600)

    order_left_pending.refresh_from_db()
    assert order_left_pending.status == "PENDING"


def test_an_order_that_never_reached_stripe_fails(user, product, devstripe):
    order = checkout.place_order(user=user, product=product, quantity=1)

    reconcile()

    order.refresh_from_db()
    assert order.status == "FAILED"
    assert order.failure_code == "not_completed"


def test_an_attempt_older_than_stripes_key_lifetime_is_not_repeated(user, product, devstripe):
    order = checkout.place_order(user=user, product=product, quantity=1)
    attempt = PaymentAttempt.objects.create(
        order=order, number=1, kind="charge", payment_source="tok_visa", idempotency_key="k-1"
    )
    PaymentAttempt.objects.filter(pk=attempt.pk).update(created=timezone.now() - timedelta(days=2))

    reconcile()

    order.refresh_from_db()
    assert order.status == "FAILED"
    assert charges_at_stripe(devstripe) == []


def test_stripe_unreachable_leaves_orders_for_the_next_run(order_left_pending, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=3)

    output = reconcile()

    order_left_pending.refresh_from_db()
    assert order_left_pending.status == "PENDING"
    assert "left for the next run" in output


@pytest.fixture
def paid_order(shopper_api, product, devstripe):
    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")
    return Order.objects.get(pk=response.json()["order"]["id"])


def test_refund_order_refunds_through_stripe_once(paid_order, devstripe):
    out = StringIO()
    call_command("refund_order", str(paid_order.id), stdout=out)

    paid_order.refresh_from_db()
    assert paid_order.status == "REFUNDED"
    assert paid_order.stripe_refund_id.startswith("re_")
    [request] = devstripe.requests(path="/v1/refunds", method="POST")
    assert request["params"]["charge"] == paid_order.stripe_charge_id
    assert request["idempotency_key"].startswith(paid_order.refund_idempotency_key)
    assert "refunded" in out.getvalue()


def test_refunding_twice_is_refused_with_a_clear_message(paid_order, devstripe):
    call_command("refund_order", str(paid_order.id), stdout=StringIO())

    with pytest.raises(CommandError, match="already refunded"):
        call_command("refund_order", str(paid_order.id), stdout=StringIO())
    assert len(devstripe.requests(path="/v1/refunds", method="POST")) == 1


def test_an_unpaid_order_cannot_be_refunded(user, product, devstripe):
    order = checkout.place_order(user=user, product=product, quantity=1)

    with pytest.raises(CommandError, match="only paid orders"):
        call_command("refund_order", str(order.id), stdout=StringIO())


def test_a_refund_retried_after_a_lost_answer_is_the_same_refund(paid_order, devstripe):
    devstripe.add_fault(method="POST", path="/v1/refunds", mode="drop_after", times=3)
    with pytest.raises(payments.PaymentUnavailable):
        refunds.refund_order(order=paid_order)
    paid_order.refresh_from_db()
    assert paid_order.status == "PAID"

    refunds.refund_order(order=paid_order)

    paid_order.refresh_from_db()
    assert paid_order.status == "REFUNDED"
    keys = {r["idempotency_key"] for r in devstripe.requests(path="/v1/refunds", method="POST")}
    assert len(keys) == 1 and keys.pop().startswith(paid_order.refund_idempotency_key)
    [charge] = charges_at_stripe(devstripe)
    assert len(charge["refunds"]["data"]) == 1
    assert charge["amount_refunded"] == paid_order.amount


def test_the_admin_action_refunds(paid_order, devstripe, admin_client):
    response = admin_client.post(
        "/admin/orders/order/",
        {"action": "refund", "_selected_action": [paid_order.id]},
        follow=True,
    )

    assert response.status_code == 200
    paid_order.refresh_from_db()
    assert paid_order.status == "REFUNDED"
