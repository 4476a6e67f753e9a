"""The shop is no free card-testing service (issue 11, defect 6).

Payment attempts are limited per shopper, with a lower limit once several cards were
declined: past it the shop answers 429 with Retry-After and a sentence, and Stripe never
hears of the attempt. Polling confirm/ answers from the database between Stripe lookups.
"""

import pytest
from django.conf import settings

import stripedemo.settings as shipped
from tests.orders.attempt_helpers import confirm, intent_retrievals, order_in, place

pytestmark = pytest.mark.django_db

ATTEMPTS = 30
LIMITS = ("PAYMENT_THROTTLE_RATE", "PAYMENT_ADDRESS_THROTTLE_RATE", "PAYMENT_DECLINE_LIMIT")


@pytest.fixture(autouse=True)
def shipped_payment_limits(settings):
    """The limits the shop runs with (the suite lifts them for the other tests)."""
    for name in LIMITS:
        if hasattr(shipped, name):
            setattr(settings, name, getattr(shipped, name))


def allowed_by(setting_name):
    """N of an "N/period" limit in the settings; without one, anything under ATTEMPTS."""
    rate = getattr(settings, setting_name, None)
    return int(rate.split("/")[0]) if rate else ATTEMPTS - 1


def charges_sent(devstripe):
    return devstripe.requests(path="/v1/charges", method="POST")


def assert_a_shoppers_429(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    sentence = response.json()["error"]
    assert " " in sentence and sentence.endswith("."), sentence
    assert response.json()["success"] is False


@pytest.fixture
def rapid_purchases(shopper_api, product, devstripe):
    def buy(token):
        return [
            place(shopper_api, product, key=f"attempt-{n}", token=token) for n in range(ATTEMPTS)
        ]

    return buy


def test_declined_cards_in_a_row_are_stopped_before_stripe(rapid_purchases, devstripe):
    responses = rapid_purchases("tok_chargeDeclined")

    statuses = [r.status_code for r in responses]
    assert set(statuses) == {402, 429}, statuses
    assert_a_shoppers_429(responses[statuses.index(429)])
    reached = len(charges_sent(devstripe))
    assert reached <= min(allowed_by("PAYMENT_DECLINE_LIMIT"), allowed_by("PAYMENT_THROTTLE_RATE"))
    assert reached < ATTEMPTS


def test_many_payments_in_a_minute_are_stopped_before_stripe(rapid_purchases, devstripe):
    responses = rapid_purchases("tok_visa")

    statuses = [r.status_code for r in responses]
    assert set(statuses) == {201, 429}, statuses
    assert_a_shoppers_429(responses[statuses.index(429)])
    assert len(charges_sent(devstripe)) <= allowed_by("PAYMENT_THROTTLE_RATE") < ATTEMPTS


def test_polling_confirm_does_not_ask_stripe_each_time(shopper_api, product, devstripe):
    waiting = place(shopper_api, product, payment_method="pm_card_authenticationRequired")
    assert waiting.status_code == 202
    order = order_in(waiting)

    responses = [confirm(shopper_api, order.id) for _ in range(ATTEMPTS)]

    assert {r.status_code for r in responses} <= {202, 429}
    assert all(r.json()["order"]["status"] == "PENDING" for r in responses if r.status_code == 202)
    assert len(intent_retrievals(devstripe)) <= 2
