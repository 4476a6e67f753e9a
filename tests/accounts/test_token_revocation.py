"""A new password ends every login token issued before it; tokens issued after it work.

Each token carries a fingerprint of its user's password hash (SIMPLE_JWT's
CHECK_REVOKE_TOKEN), checked against the user the authentication loads anyway.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import PASSWORD, token_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/api-token-auth/"
ORDERS = "/api/order/"
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """Any salted hash has a fingerprint; the production one is slow to compute."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(password=PASSWORD, email="shopper@example.com"):
    response = APIClient().post(TOKEN, {"username": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def orders_with(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
    return client.get(ORDERS)


def expired_token(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-api_settings.ACCESS_TOKEN_LIFETIME)
    return str(token)


def assert_refused_like_an_expired_token(response, user):
    expired = orders_with(expired_token(user))
    assert response.status_code == expired.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
    assert response["WWW-Authenticate"] == expired["WWW-Authenticate"]


def test_a_new_password_ends_every_earlier_token_and_new_ones_work(user):
    earlier = [log_in(), log_in(), token_for(user)]
    assert all(orders_with(token).status_code == 200 for token in earlier)

    user.set_password(NEW_PASSWORD)
    user.save()

    for token in earlier:
        assert_refused_like_an_expired_token(orders_with(token), user)
    assert orders_with(log_in(NEW_PASSWORD)).status_code == 200


def test_setting_the_same_password_again_also_ends_earlier_tokens(user):
    """What counts is that a password was set (a stolen token's thief is shut out even
    when the shopper keeps their password), not whether it differs."""
    earlier = log_in()

    user.set_password(PASSWORD)
    user.save()

    assert orders_with(earlier).status_code == 401
    assert orders_with(log_in()).status_code == 200


def test_a_password_changed_in_the_admin_ends_the_shoppers_tokens(user, admin_client):
    earlier = log_in()

    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content
    assert_refused_like_an_expired_token(orders_with(earlier), user)
    assert orders_with(log_in(NEW_PASSWORD)).status_code == 200


def test_staff_changing_their_own_password_in_the_admin_ends_their_tokens(admin_client, admin_user):
    earlier = log_in(password="password", email=admin_user.username)  # pytest-django's

    response = admin_client.post(
        "/admin/password_change/",
        {"old_password": "password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content
    assert orders_with(earlier).status_code == 401
    assert orders_with(log_in(NEW_PASSWORD, email=admin_user.username)).status_code == 200


def test_a_token_without_the_password_fingerprint_is_refused(user):
    """Tokens issued before the fingerprint existed, or made without it, are not good."""
    token = AccessToken.for_user(user)
    del token[api_settings.REVOKE_TOKEN_CLAIM]

    assert_refused_like_an_expired_token(orders_with(str(token)), user)


def test_a_deactivated_shoppers_token_is_refused(user):
    token = log_in()

    user.is_active = False
    user.save()

    assert_refused_like_an_expired_token(orders_with(token), user)


def test_checking_the_password_costs_no_query_of_its_own(user):
    token = log_in()

    with CaptureQueriesContext(connection) as queries:
        assert orders_with(token).status_code == 200

    user_lookups = [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"].replace("`", '"')]
    assert len(user_lookups) == 1
