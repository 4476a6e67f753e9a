"""Fixtures shared by the tests of tests/orders."""

import pytest
from django.core.cache import cache
from django.core.management import call_command

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


CACHE_TABLE = "orders_test_cache"


@pytest.fixture
def database_cache(settings):
    """The throttles' counts in the database, as production keeps them without Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Production's (DATABASE_CACHE_MAX_ENTRIES): Django's default of 300 would
            # cull expired counts on its own, long before a real shop's table does.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    call_command("createcachetable", verbosity=0)
    cache.clear()
    yield
    cache.clear()
