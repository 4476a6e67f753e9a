"""The Stripe API version the shop is written against (issue 14).

Every request the shop makes names it (`Stripe-Version`), so an account's default
version never changes what the shop reads. An event rendered for another version (a
webhook endpoint created with another one) is logged, and acted on only when its object
has the shape the shop reads; otherwise it is acknowledged and changes nothing.
"""

import copy

import pytest
import stripe

from orders import payments
from orders.models import Order, StripeEvent
from tests.orders.attempt_helpers import (
    MUG_PRICE,
    confirm,
    events_about,
    order_in,
    pay,
    place,
    reconcile,
)
from tests.orders.confirmation_token_helpers import bank_account_token, card_token
from tests.orders.stripe_events import deliver
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

OTHER_VERSION = "2024-06-20"
WARNING = "webhook event of another Stripe API version"


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


@pytest.fixture
def other_version_events(devstripe, webhook_secret):
    """devstripe's webhook endpoint renders events for another API version, and bank
    debits stay processing until the test settles them."""
    devstripe.configure(webhook_api_version=OTHER_VERSION, processing_delay_ms=3_600_000)
    yield devstripe
    devstripe.configure(webhook_api_version=None, processing_delay_ms=None)


def test_the_version_is_the_one_the_stripe_sdk_is_written_for():
    assert payments.STRIPE_API_VERSION == stripe.api_version


def test_every_request_the_shop_makes_names_its_api_version(shopper_api, mug, devstripe):
    place(shopper_api, mug, token="tok_visa")
    declined = order_in(place(shopper_api, mug, payment_method="pm_card_chargeDeclined"))
    pay(shopper_api, declined.id, "pm_card_visa")
    order_in(place(shopper_api, mug, confirmation_token=card_token(devstripe)))
    pending = order_in(place(shopper_api, mug, payment_method="pm_card_authenticationRequired"))
    confirm(shopper_api, pending.id)
    reconcile()
    shop_requests = [
        request
        for request in devstripe.requests()
        if not request["path"].startswith("/v1/test_helpers/")  # the test's own
    ]

    paths = {request["path"].split("/")[2] for request in shop_requests}
    assert {"charges", "payment_intents"} <= paths
    assert {request["method"] for request in shop_requests} == {"GET", "POST"}
    assert {request["stripe_version"] for request in shop_requests} == {payments.STRIPE_API_VERSION}


def test_an_event_of_another_version_with_a_known_shape_settles_the_order(
    api, shopper_api, mug, other_version_events, caplog
):
    devstripe = other_version_events
    response = place(shopper_api, mug, confirmation_token=bank_account_token(devstripe))
    assert response.status_code == 202, response.json()
    order = order_in(response)
    devstripe.settle(order.stripe_payment_intent_id)
    [succeeded] = [
        event
        for event in events_about(devstripe, order.stripe_payment_intent_id)
        if event["type"] == "payment_intent.succeeded"
    ]
    assert succeeded["api_version"] == OTHER_VERSION

    answer = deliver(api, succeeded, WEBHOOK_SECRET)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "processed"
    order.refresh_from_db()
    assert order.status == "PAID"
    [warning] = [record for record in caplog.records if record.getMessage() == WARNING]
    assert warning.levelname == "WARNING"
    assert (warning.event_id, warning.api_version, warning.expected) == (
        succeeded["id"],
        OTHER_VERSION,
        payments.STRIPE_API_VERSION,
    )
    assert warning.understood is True


def reshaped(event, change):
    """The event with its object in a shape this API version does not have."""
    event = copy.deepcopy(event)
    change(event["data"]["object"])
    event["id"] += "_reshaped"
    return event


@pytest.mark.parametrize(
    "change",
    [
        lambda intent: intent.update(status="completed"),
        lambda intent: intent.update(amount={"value": intent["amount"], "decimals": 2}),
        lambda intent: intent.pop("currency"),
        lambda intent: intent.update(metadata=[["order_id", intent["metadata"]["order_id"]]]),
    ],
    ids=["unknown-status", "amount-an-object", "no-currency", "metadata-a-list"],
)
def test_an_event_of_another_version_of_unknown_shape_is_acknowledged_and_changes_nothing(
    api, shopper_api, mug, other_version_events, caplog, change
):
    devstripe = other_version_events
    order = order_in(place(shopper_api, mug, confirmation_token=bank_account_token(devstripe)))
    devstripe.settle(order.stripe_payment_intent_id)
    [succeeded] = [
        event
        for event in events_about(devstripe, order.stripe_payment_intent_id)
        if event["type"] == "payment_intent.succeeded"
    ]
    event = reshaped(succeeded, change)

    answer = deliver(api, event, WEBHOOK_SECRET)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"
    order.refresh_from_db()
    assert order.status == "PENDING"
    assert order.attempts.get().status == "processing"
    assert StripeEvent.objects.get(event_id=event["id"]).order_id is None
    [warning] = [record for record in caplog.records if record.getMessage() == WARNING]
    assert (warning.event_id, warning.understood) == (event["id"], False)


def test_an_event_of_the_shops_own_version_is_not_warned_about(
    api, shopper_api, mug, devstripe, webhook_secret, caplog
):
    devstripe.configure(webhook_api_version=None)
    order = order_in(place(shopper_api, mug, payment_method="pm_card_authenticationRequired"))
    devstripe.authenticate(order.stripe_payment_intent_id)
    [succeeded] = [
        event
        for event in events_about(devstripe, order.stripe_payment_intent_id)
        if event["type"] == "payment_intent.succeeded"
    ]
    assert succeeded["api_version"] == payments.STRIPE_API_VERSION

    assert deliver(api, succeeded, WEBHOOK_SECRET).json()["outcome"] == "processed"

    assert Order.objects.get(pk=order.pk).status == "PAID"
    assert WARNING not in [record.getMessage() for record in caplog.records]
