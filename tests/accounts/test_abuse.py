"""Password guessing and sign-up floods are throttled; old or forged tokens are refused."""

from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings):
    settings.AUTH_THROTTLE_RATE = "3/min"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/api-token-auth/", {"username": "shopper@example.com", "password": "guess"}),
        ("/api/signup/", {"first_name": "a", "last_name": "b", "email": "x@y.z", "password": ""}),
    ],
)
def test_too_many_attempts_from_one_address_get_429_with_retry_after(
    api, user, three_per_minute, path, body
):
    for _ in range(3):
        assert api.post(path, body, format="json").status_code == 400

    response = api.post(path, body, format="json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["success"] is False
    assert "throttled" in response.json()["error"]


def test_another_address_is_not_throttled(api, user, three_per_minute):
    body = {"username": "shopper@example.com", "password": "guess"}
    for _ in range(4):
        api.post("/api/api-token-auth/", body, format="json", REMOTE_ADDR="10.0.0.1")

    response = api.post(
        "/api/api-token-auth/",
        {"username": "shopper@example.com", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.2",
    )

    assert response.status_code == 200


def test_an_expired_token_is_refused(api, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    api.credentials(HTTP_AUTHORIZATION=f"JWT {token}")

    response = api.get("/api/order/")

    assert response.status_code == 401
    assert response.json()["success"] is False


def test_tokens_expire_after_the_configured_lifetime(settings, user):
    token = AccessToken.for_user(user)

    lifetime = token["exp"] - token["iat"]

    assert lifetime == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()


def test_no_password_or_token_reaches_the_logs(api, user, caplog, shopper_api, product, devstripe):
    api.post(
        "/api/api-token-auth/",
        {"username": "shopper@example.com", "password": PASSWORD},
        format="json",
    )
    shopper_api.post(
        "/api/order/", {"product": product.id, "token": "tok_chargeDeclined"}, format="json"
    )
    api.post(
        "/api/signup/",
        {"first_name": "a", "last_name": "b", "email": "new@example.com", "password": PASSWORD},
        format="json",
    )

    assert caplog.records
    assert PASSWORD not in caplog.text
    assert devstripe.secret_key not in caplog.text
    assert "tok_chargeDeclined" not in caplog.text
