"""Hostile input answers the shop's JSON errors, never a 500 with a traceback in the log."""

import logging

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

DEEPLY_NESTED = "[" * 1000


def assert_a_json_400_without_a_logged_error(response, caplog):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["error"]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("nesting", [DEEPLY_NESTED, '{"a":' * 1000, "[" * 100_000])
def test_a_deeply_nested_body_on_signup_is_a_json_400(api, caplog, nesting):
    caplog.set_level(logging.INFO)

    response = api.post("/api/signup/", nesting, content_type="application/json")

    assert_a_json_400_without_a_logged_error(response, caplog)


def test_a_deeply_nested_body_on_login_is_a_json_400(api, caplog):
    caplog.set_level(logging.INFO)

    response = api.post("/api/api-token-auth/", DEEPLY_NESTED, content_type="application/json")

    assert_a_json_400_without_a_logged_error(response, caplog)


def test_a_deeply_nested_order_is_a_json_400_and_no_order(shopper_api, product, caplog):
    caplog.set_level(logging.INFO)

    response = shopper_api.post("/api/order/", DEEPLY_NESTED, content_type="application/json")

    assert_a_json_400_without_a_logged_error(response, caplog)
    assert not Order.objects.exists()


def test_a_deeply_nested_payment_is_a_json_400(shopper_api, user, product, caplog):
    order = Order.objects.create(
        user=user,
        product=product,
        quantity=1,
        amount=1999,
        currency="usd",
        status=Order.Status.FAILED,
    )
    caplog.set_level(logging.INFO)

    response = shopper_api.post(
        f"/api/order/{order.pk}/pay/", DEEPLY_NESTED, content_type="application/json"
    )

    assert_a_json_400_without_a_logged_error(response, caplog)
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/product/", "/api/no-such-thing/", "/api/signup/"])
def test_a_foreign_host_is_a_json_400(api, settings, caplog, debug, path):
    settings.DEBUG = debug
    caplog.set_level(logging.INFO)

    response = api.get(path, HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert "evil.example" not in response.content.decode()


LOGIN = {"username": "shopper@example.com", "password": "guess"}


def test_a_rotating_x_forwarded_for_does_not_escape_the_login_throttle(api, user, settings):
    """TRUSTED_PROXY_COUNT unset: the socket's address is the client's, whatever XFF says."""
    settings.AUTH_THROTTLE_RATE = "20/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}

    statuses = [
        api.post(
            "/api/api-token-auth/",
            LOGIN,
            format="json",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
        ).status_code
        for attempt in range(30)
    ]

    assert statuses[:20] == [400] * 20
    assert set(statuses[20:]) == {429}


def test_a_rotating_x_forwarded_for_does_not_escape_the_payment_address_throttle(
    make_user, product, settings
):
    settings.PAYMENT_ADDRESS_THROTTLE_RATE = "3/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # quick
    statuses = []
    for attempt in range(4):
        # A new shopper each time: only the address throttle can stop them.
        client = APIClient()
        shopper = make_user(email=f"shopper{attempt}@example.com")
        client.credentials(HTTP_AUTHORIZATION=f"JWT {token_for(shopper)}")
        response = client.post(
            "/api/order/",
            {"product": "not a product", "token": "tok_visa"},
            format="json",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
        )
        statuses.append(response.status_code)

    assert statuses[-1] == 429
    assert 429 not in statuses[:3]


def test_with_trusted_proxies_the_forwarded_client_address_is_counted(api, user, settings):
    """Behind Elastic Beanstalk (2 proxies) the address the load balancer saw counts."""
    settings.AUTH_THROTTLE_RATE = "3/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}

    def login(client_address, forged="10.9.9.9"):
        return api.post(
            "/api/api-token-auth/",
            LOGIN,
            format="json",
            REMOTE_ADDR="127.0.0.1",  # nginx on the instance
            HTTP_X_FORWARDED_FOR=f"{forged}, {client_address}, 172.31.0.10",
        ).status_code

    # The same client, whatever it forges at the front of the header, is counted once.
    assert [login("198.51.100.1", forged=f"10.0.0.{n}") for n in range(4)] == [400] * 3 + [429]
    # Another client behind the same proxies is not.
    assert login("198.51.100.2") == 400
