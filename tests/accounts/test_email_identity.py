"""One email, one account: emails are compared after Unicode NFKC and case folding, exactly.

Different addresses (an accent apart) never share an account or a login, whatever the
database's collation; one address, however it is typed (case, composed or decomposed
accents, fullwidth letters), never becomes two accounts.
"""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = "/api/signup/"
TOKEN = "/api/api-token-auth/"
OTHER_PASSWORD = "another-long-unusual-passphrase"

ACCENTED = "x@\u00e9xample.com"  # x@éxample.com, é precomposed
PLAIN = "x@example.com"

CAFE = "shopper@caf\u00e9.example"  # the normalised form: lower case, é precomposed
CAFE_VARIANTS = {
    "upper-case": "SHOPPER@CAF\u00c9.EXAMPLE",
    "mixed-case-padded": "  ShOpPeR@Caf\u00e9.Example ",
    "decomposed-accent": "shopper@cafe\u0301.example",
    "upper-case-decomposed": "SHOPPER@CAFE\u0301.EXAMPLE",
    "fullwidth-letters": "shopper@\uff43\uff41\uff46\u00e9.example",
}


def sign_up(api, email, password=PASSWORD):
    body = {"first_name": "Sam", "last_name": "Shopper", "email": email, "password": password}
    return api.post(SIGNUP, body, format="json")


def log_in(api, username, password=PASSWORD):
    return api.post(TOKEN, {"username": username, "password": password}, format="json")


def account_of(response):
    """The user whose token the login answered with."""
    assert response.status_code == 200, response.json()
    user_id = AccessToken(response.json()["token"])["user_id"]
    return get_user_model().objects.get(pk=user_id)


def test_emails_an_accent_apart_are_two_accounts_each_logging_in_to_its_own(api):
    assert sign_up(api, ACCENTED, PASSWORD).status_code == 201

    second = sign_up(api, PLAIN, OTHER_PASSWORD)

    assert second.status_code == 201, second.json()
    assert second.json() == {"success": True}
    users = get_user_model().objects
    assert sorted(users.values_list("username", flat=True)) == sorted([ACCENTED, PLAIN])
    assert account_of(log_in(api, ACCENTED, PASSWORD)).username == ACCENTED
    assert account_of(log_in(api, PLAIN, OTHER_PASSWORD)).username == PLAIN


@pytest.mark.parametrize(
    ("registered", "typed"), [(ACCENTED, PLAIN), (PLAIN, ACCENTED)], ids=["accent", "no-accent"]
)
def test_an_email_an_accent_apart_does_not_log_in_to_the_other_account(api, registered, typed):
    assert sign_up(api, registered).status_code == 201

    response = log_in(api, typed)

    assert response.status_code == 400
    assert response.json()["detail"] == "authorization failure"


@pytest.mark.parametrize("variant", CAFE_VARIANTS.values(), ids=CAFE_VARIANTS.keys())
def test_the_same_email_in_another_case_or_unicode_form_already_exists(api, variant):
    assert sign_up(api, CAFE).status_code == 201

    again = sign_up(api, variant, OTHER_PASSWORD)

    assert again.status_code == 400
    assert again.json()["error"] == "An account with this email already exists."
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    "variant",
    [*CAFE_VARIANTS.values(), "\uff53\uff48\uff4f\uff50\uff50\uff45\uff52@caf\u00e9.example"],
    ids=[*CAFE_VARIANTS.keys(), "fullwidth-local-part"],
)
def test_the_same_email_in_another_case_or_unicode_form_logs_in_to_the_same_account(api, variant):
    assert sign_up(api, CAFE).status_code == 201
    account = get_user_model().objects.get()

    assert account_of(log_in(api, variant)) == account


@pytest.mark.parametrize("variant", CAFE_VARIANTS.values(), ids=CAFE_VARIANTS.keys())
def test_the_username_stored_is_the_normalised_email(api, variant):
    assert sign_up(api, variant).status_code == 201

    assert get_user_model().objects.get().username == CAFE


def test_the_migration_renormalises_stored_usernames_unless_that_would_collide():
    migration = importlib.import_module("accounts.migrations.0001_username_exact_on_mysql")
    User = get_user_model()
    kept = User.objects.create(username="taken@example.com")
    renamed = User.objects.create(username="Old@CAFE\u0301.example")  # → old@café.example
    colliding = User.objects.create(username="TAKEN@example.com")  # → taken@example.com
    first = User.objects.create(username="Twin@example.com")  # → twin@example.com
    second = User.objects.create(username="TWIN@example.com")  # → twin@example.com, now taken

    migration.normalise_usernames(apps, connection.schema_editor())

    usernames = {user.pk: user.username for user in User.objects.all()}
    assert usernames == {
        kept.pk: "taken@example.com",
        renamed.pk: "old@caf\u00e9.example",
        colliding.pk: "TAKEN@example.com",
        first.pk: "twin@example.com",
        second.pk: "TWIN@example.com",
    }
