"""Stripe's objects are checked, not trusted by their metadata alone (issue 11, defect 4).

Anyone with the secret key (another database sharing the Stripe account, a charge made
by hand) can put `metadata[order_id]=N` on a charge or a PaymentIntent. Such an object
settles order N only if it is the order's own (its PaymentIntent, a charge of it, or a
charge one of its attempts made) for exactly its amount and currency; anything else
changes no order and is recorded as a PaymentAnomaly an operator sees.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, PaymentAnomaly, PaymentAttempt
from tests.helpers import (
    stripe_client,
    succeeded_charges,
)
from tests.orders.attempt_helpers import (
    MUG_AMOUNT,
    MUG_PRICE,
    declined_order_of,
    deliver_events,
    events_about,
    order_in,
    place,
    reconcile,
    while_stripe_fails,
)
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


def foreign_charge(devstripe, order, amount, currency="usd"):
    """A charge made straight at Stripe with our secret key, naming our order."""
    return (
        stripe_client(devstripe)
        .v1.charges.create(
            {
                "amount": amount,
                "currency": currency,
                "source": "tok_visa",
                "metadata": {"order_id": str(order.id)},
            }
        )
        .to_dict()
    )


def foreign_payment_intent(devstripe, order, amount, currency="usd"):
    """A PaymentIntent paid straight at Stripe with our secret key, naming our order."""
    return (
        stripe_client(devstripe)
        .v1.payment_intents.create(
            {
                "amount": amount,
                "currency": currency,
                "payment_method": "pm_card_visa",
                "payment_method_types": ["card"],
                "confirm": True,
                "metadata": {"order_id": str(order.id)},
            }
        )
        .to_dict()
    )


# What a foreign object is, and how much of what it takes (None: the order's own amount).
FOREIGN_OBJECTS = {
    "a 50-cent charge": (foreign_charge, 50, "usd"),
    "a charge of its amount in another currency": (foreign_charge, None, "eur"),
    "a charge of its amount that none of its attempts made": (foreign_charge, None, "usd"),
    "a 50-cent PaymentIntent": (foreign_payment_intent, 50, "usd"),
    "a PaymentIntent of its amount in another currency": (foreign_payment_intent, None, "eur"),
}


def make_foreign(devstripe, order, spec):
    make, amount, currency = spec
    return make(devstripe, order, order.amount if amount is None else amount, currency)


def ids_of(stripe_object):
    """The object's id and, for a PaymentIntent, its charge's."""
    return {stripe_object["id"], stripe_object.get("latest_charge")} - {None}


def assert_recorded_as_anomaly(order, stripe_object):
    anomalies = [a for a in PaymentAnomaly.objects.all() if a.stripe_id in ids_of(stripe_object)]
    assert anomalies, list(PaymentAnomaly.objects.values())
    for anomaly in anomalies:
        assert anomaly.order_id == order.id
        assert anomaly.object_type in ("charge", "payment_intent")
        assert anomaly.reason
        assert anomaly.amount == stripe_object["amount"]
        assert anomaly.currency == stripe_object["currency"]
        assert anomaly.stripe_status == "succeeded"
        assert anomaly.detected is not None


@pytest.fixture
def failed_order(shopper_api, mug, devstripe):
    """A $142.50 order whose card was declined: FAILED, holding its own PaymentIntent."""
    order = declined_order_of(shopper_api, mug)
    assert order.amount == MUG_AMOUNT
    return order


@pytest.mark.parametrize("spec", FOREIGN_OBJECTS.values(), ids=FOREIGN_OBJECTS.keys())
def test_a_foreign_payment_naming_a_failed_order_leaves_it_failed_and_is_an_anomaly(
    api, failed_order, devstripe, spec
):
    foreign = make_foreign(devstripe, failed_order, spec)
    assert foreign["status"] == "succeeded"

    responses = deliver_events(api, events_about(devstripe, foreign["id"]))

    assert [r.status_code for r in responses] == [200] * len(responses)
    failed_order.refresh_from_db()
    assert failed_order.status == "FAILED"
    assert failed_order.stripe_charge_id not in ids_of(foreign)
    assert failed_order.stripe_payment_intent_id not in ids_of(foreign)
    assert_recorded_as_anomaly(failed_order, foreign)


@pytest.fixture
def order_left_pending(shopper_api, mug, devstripe):
    """Stripe was down for the order's card, and nothing settled it for two days (no
    reconcile was scheduled): PENDING, its attempt older than Stripe's key lifetime, so
    reconcile can only look for the order's payments in Stripe's records."""
    response = while_stripe_fails(
        devstripe,
        "error_500",
        "/v1/",
        lambda: place(shopper_api, mug, payment_method="pm_card_visa"),
    )
    assert response.status_code == 503
    order = order_in(response)
    assert order.status == "PENDING"
    two_days_ago = timezone.now() - timedelta(days=2)
    Order.objects.filter(pk=order.pk).update(created=two_days_ago, updated=two_days_ago)
    PaymentAttempt.objects.filter(order=order).update(created=two_days_ago, updated=two_days_ago)
    return order


@pytest.mark.parametrize("foreign_kind", ["a 50-cent charge", "a 50-cent PaymentIntent"])
def test_reconcile_never_pays_a_pending_order_from_a_foreign_payment_and_prints_it(
    order_left_pending, devstripe, foreign_kind
):
    foreign = make_foreign(devstripe, order_left_pending, FOREIGN_OBJECTS[foreign_kind])

    output = reconcile()

    order = order_left_pending
    order.refresh_from_db()
    assert order.stripe_charge_id not in ids_of(foreign)
    assert order.stripe_payment_intent_id not in ids_of(foreign)
    own = [
        c
        for c in succeeded_charges(devstripe, order)
        if not ids_of(foreign) & {c["id"], c.get("payment_intent")}
    ]
    assert sum(c["amount"] for c in own) == (order.amount if order.status == "PAID" else 0)
    assert_recorded_as_anomaly(order, foreign)
    assert any(stripe_id in output for stripe_id in ids_of(foreign)), output
