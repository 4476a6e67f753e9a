"""Fixtures shared by the webhook tests of tests/orders."""

import pytest

from orders import checkout
from tests.orders.stripe_events import charge_attempt_for
from tests.servers import WEBHOOK_SECRET


@pytest.fixture
def webhook_secret(settings):
    """The shop verifies events with the secret the tests sign them with."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def pending_order(user, product):
    order = checkout.place_order(user=user, product=product, quantity=1)
    charge_attempt_for(order)
    return order
