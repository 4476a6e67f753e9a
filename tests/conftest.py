"""Fixtures shared by every test: a live devstripe, shoppers, products and API clients.

The shop talks to devstripe over real HTTP through the official stripe SDK, exactly as
it talks to Stripe: the tests only point STRIPE_API_BASE at it.
"""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import sign_up
from catalog.models import Product
from orders import receipts
from tests.helpers import PASSWORD, token_for
from tests.servers import WEBHOOK_SECRET, shop_server


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttling counts live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def receipts_sent_within_their_test(settings):
    """A paid order's receipt is sent by a background thread (orders.receipts): it is
    waited for before the test's settings (its devstripe, its mail backend) are put back,
    so that it never asks the real Stripe, nor lands in another test's outbox."""
    yield
    assert receipts.wait_for_background_sends(timeout=receipts.send_budget().total_seconds())


@pytest.fixture(autouse=True)
def generous_payment_limits(settings):
    """Tests buy far faster than a shopper; the throttling tests set the real limits."""
    settings.PAYMENT_THROTTLE_RATE = "1000/min"
    settings.PAYMENT_ADDRESS_THROTTLE_RATE = "1000/min"
    settings.PAYMENT_DECLINE_LIMIT = "1000/hour"
    settings.PAYMENT_CONFIRM_RATE = "1000/min"


@pytest.fixture(autouse=True)
def generous_login_lockout(settings):
    """Tests log in wrongly far more often than a shopper (the login throttle's tests, 30
    in a row); tests/accounts/test_login_lockout.py sets the real limit."""
    settings.AXES_FAILURE_LIMIT = 1000


@pytest.fixture(scope="session")
def devstripe_process():
    from devstripe.testing import DevStripeProcess

    with DevStripeProcess() as process:
        yield process


@pytest.fixture
def devstripe(devstripe_process, settings):
    """devstripe with nothing in it, and the shop pointed at it."""
    devstripe_process.reset()
    devstripe_process.configure(
        latency_ms=0,
        webhook_url="",
        webhook_secret="",
        processing_delay_ms=None,  # devstripe's defaults: a test that changes them
        webhook_api_version=None,  # leaves nothing behind for the next one
    )
    settings.STRIPE_API_BASE = devstripe_process.url
    settings.STRIPE_SECRET_KEY = devstripe_process.secret_key
    settings.STRIPE_PUBLISHABLE_KEY = devstripe_process.publishable_key
    # Keep failing tests quick; the SDK still retries, with the same idempotency key.
    settings.STRIPE_TIMEOUT = 5
    yield devstripe_process


@pytest.fixture
def make_user(db):
    def make(email="shopper@example.com", password=PASSWORD, first_name="Sam", last_name="Shopper"):
        return sign_up(first_name=first_name, last_name=last_name, email=email, password=password)

    return make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def make_product(db):
    def make(name="Demo Mug", price="12.50", currency="usd", active=True, **fields):
        return Product.objects.create(
            name=name, price=Decimal(price), currency=currency, active=active, **fields
        )

    return make


@pytest.fixture
def product(make_product):
    return make_product(
        name="Idempotent T-shirt", price="19.99", image_url="/static/catalog/products/tshirt.svg"
    )


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def shopper_api(user):
    """An API client logged in as `user`, the way the original clients send the token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {token_for(user)}")
    return client


@pytest.fixture(scope="session")
def shop_url(django_db_setup, devstripe_process):
    """The shop served by gunicorn (as in production), on the test database.

    Tests that use it need `transactional_db`, so that what they create is committed
    and visible to the server process.
    """
    with shop_server(devstripe_process) as url:
        yield url


@pytest.fixture
def webhooks_to(devstripe, settings):
    """Have devstripe deliver signed webhooks to a shop at the given base URL."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    def point(base_url):
        devstripe.configure(
            webhook_url=f"{base_url}/api/stripe/webhook/", webhook_secret=WEBHOOK_SECRET
        )

    return point
