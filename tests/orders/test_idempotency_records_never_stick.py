"""An Idempotency-Key never sticks, and never expires into a second order (issue 11, defect 5).

A replay of a key returns its first answer; when the first request died (no answer saved
past a short lease) or answered 503, it returns the order's current state instead, so a
retry after reconcile or a webhook has paid the order shows it PAID. And however old the
key, replaying it never places and charges a new order.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import IdempotencyRecord, Order
from tests.helpers import (
    succeeded_charges,
)
from tests.orders.attempt_helpers import (
    deliver_events,
    events_about,
    order_in,
    place,
    reconcile,
    while_stripe_fails,
)
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

KEY = "purchase-1"
# Far past any lease a request in progress may hold.
LONG_AGO = timedelta(hours=1)


@pytest.fixture
def buy(shopper_api, product, devstripe):
    def post(key=KEY, token="tok_visa"):
        return place(shopper_api, product, key=key, token=token)

    return post


def charge_requests(devstripe):
    return devstripe.requests(path="/v1/charges", method="POST")


@pytest.fixture
def answer_lost(buy, devstripe):
    """Stripe charged the card, every answer was lost: the shop answered 503, PENDING."""
    response = while_stripe_fails(devstripe, "drop_after", "/v1/charges", buy)
    assert response.status_code == 503
    order = order_in(response)
    assert order.status == "PENDING"
    assert len(succeeded_charges(devstripe, order)) == 1
    return order


@pytest.fixture
def request_died(answer_lost):
    """As if the worker had been killed mid-request: the order is tied to the key, and no
    answer was ever saved."""
    IdempotencyRecord.objects.filter(key=KEY).update(
        response_status=None, response_body=None, created=timezone.now() - LONG_AGO
    )
    return answer_lost


def test_a_key_whose_request_died_answers_with_the_order_not_409(buy, request_died, devstripe):
    replay = buy()

    assert replay.status_code != 409, replay.json()
    assert replay.status_code in (200, 201, 202, 503), replay.json()
    assert replay.json()["order"]["id"] == request_died.id
    assert Order.objects.count() == 1
    assert len(succeeded_charges(devstripe)) == 1


def test_a_key_whose_request_died_answers_paid_once_reconcile_paid_the_order(
    buy, request_died, devstripe
):
    reconcile()
    request_died.refresh_from_db()
    assert request_died.status == "PAID"

    replay = buy()

    assert replay.status_code in (200, 201), replay.json()
    assert replay.json()["order"]["id"] == request_died.id
    assert replay.json()["order"]["status"] == "PAID"
    assert Order.objects.count() == 1
    assert len(succeeded_charges(devstripe)) == 1


@pytest.mark.parametrize("settled_by", ["reconcile", "webhook"])
def test_a_key_whose_first_answer_was_503_replays_the_order_as_it_is_now(
    buy, answer_lost, devstripe, api, settings, settled_by
):
    if settled_by == "reconcile":
        reconcile()
    else:
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        [charge] = succeeded_charges(devstripe, answer_lost)
        deliver_events(api, events_about(devstripe, charge["id"]))
    answer_lost.refresh_from_db()
    assert answer_lost.status == "PAID"

    replay = buy()

    assert replay.status_code in (200, 201), replay.json()
    assert replay.json()["order"]["id"] == answer_lost.id
    assert replay.json()["order"]["status"] == "PAID"
    assert replay.json()["order"]["payment_pending"] is False
    assert Order.objects.count() == 1
    assert len(succeeded_charges(devstripe)) == 1


@pytest.mark.parametrize("reconcile_ran", [False, True], ids=["replayed", "after-reconcile"])
def test_a_key_never_expires_into_a_second_order(buy, devstripe, reconcile_ran):
    first = buy()
    assert first.status_code == 201
    IdempotencyRecord.objects.update(created=timezone.now() - timedelta(hours=25))
    if reconcile_ran:  # it used to forget keys older than 24 hours
        reconcile()

    replay = buy()

    assert replay.json()["order"]["id"] == first.json()["order"]["id"]
    assert replay.json()["order"]["status"] == "PAID"
    assert Order.objects.count() == 1
    assert len(charge_requests(devstripe)) == 1
    assert len(succeeded_charges(devstripe)) == 1
