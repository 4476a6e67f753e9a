"""The shop as the schema tests drive it: under gunicorn, or in a browser."""

import pytest
import requests

# The docs page is driven in the same headless Chromium, against the same live shop, as
# the front end's browser tests.
from tests.frontend.conftest import browser, shop  # noqa: F401
from tests.helpers import token_for
from tests.servers import shop_server


@pytest.fixture(scope="package")
def fuzzed_shop(django_db_setup, devstripe_process):
    """The shop under gunicorn, with sign-up and login throttling out of the fuzzer's way.

    (At the usual 20 a minute nearly every sign-up and login would be a 429 and the logic
    behind them would go untested; the 429 itself is tested in tests/accounts.)
    """
    with shop_server(
        devstripe_process, workers=2, threads=8, THROTTLE_AUTH_RATE="1000000/min"
    ) as url:
        yield url


@pytest.fixture
def catalog(make_product):
    # The schema's examples buy product 1; ids the fuzzer will also guess.
    return [
        make_product(id=1, name="Stripe Demo Mug", price="12.50"),
        make_product(id=2, name="Idempotent T-shirt", price="19.99"),
        make_product(id=3, name="Retired Cap", price="17.00", active=False),
    ]


@pytest.fixture
def shopper(fuzzed_shop, user):
    """requests to the fuzzed shop, logged in as `user`: shopper.post("/api/order/", ...)."""

    class Shopper(requests.Session):
        def request(self, method, path, **kwargs):
            kwargs.setdefault("timeout", 60)
            return super().request(method, fuzzed_shop + path, **kwargs)

    with Shopper() as session:
        session.headers["Authorization"] = f"JWT {token_for(user)}"
        yield session
