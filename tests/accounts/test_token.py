"""POST /api/api-token-auth/ and the two Authorization header forms."""

import pytest

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/api-token-auth/"
FAILURE = {"success": False, "error": "authorization failure", "detail": "authorization failure"}


def test_right_email_and_password_get_a_jwt(api, user):
    response = api.post(
        TOKEN, {"username": "shopper@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    assert response.json()["token"].count(".") == 2


def test_the_email_is_matched_whatever_its_case(api, user):
    response = api.post(
        TOKEN, {"username": "Shopper@EXAMPLE.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "shopper@example.com", "password": "wrong-password"},
        {"username": "nobody@example.com", "password": PASSWORD},
        {"username": "shopper@example.com"},
        {"password": PASSWORD},
        {},
    ],
    ids=["wrong-password", "unknown-email", "no-password", "no-username", "empty"],
)
def test_anything_else_is_an_authorization_failure(api, user, body):
    response = api.post(TOKEN, body, format="json")

    assert response.status_code == 400
    assert response.json() == FAILURE


@pytest.mark.parametrize("scheme", ["JWT", "Bearer"])
def test_both_header_forms_authenticate(api, user, scheme):
    token = api.post(
        TOKEN, {"username": "shopper@example.com", "password": PASSWORD}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"{scheme} {token.json()['token']}")

    assert api.get("/api/order/").status_code == 200


def test_a_tampered_token_is_refused_with_json(api, user):
    token = api.post(
        TOKEN, {"username": "shopper@example.com", "password": PASSWORD}, format="json"
    )
    header, payload, signature = token.json()["token"].split(".")
    api.credentials(HTTP_AUTHORIZATION=f"JWT {header}.{payload}.{signature[::-1]}")

    response = api.get("/api/order/")

    assert response.status_code == 401
    assert response.json()["success"] is False


def test_order_endpoints_without_a_token_answer_401_json(api):
    response = api.get("/api/order/")

    assert response.status_code == 401
    assert response.json()["error"] == "Authentication credentials were not provided."
