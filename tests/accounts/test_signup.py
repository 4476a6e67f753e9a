"""POST /api/signup/: the original README's sign-up journey and each way it can fail."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

SIGNUP = "/api/signup/"
VALID = {
    "first_name": "foo",
    "last_name": "bar",
    "email": "foobar@gmail.com",
    "password": "a-long-unusual-passphrase",
}


def test_signup_creates_a_user_with_a_hashed_password(api):
    response = api.post(SIGNUP, VALID, format="json")

    assert response.status_code == 201
    assert response.json() == {"success": True}
    user = get_user_model().objects.get(username="foobar@gmail.com")
    assert (user.first_name, user.last_name, user.email) == ("foo", "bar", "foobar@gmail.com")
    assert user.password != VALID["password"]
    assert user.password.startswith("pbkdf2_sha256$")
    assert user.check_password(VALID["password"])


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("first_name", "First name is required."),
        ("last_name", "Last name is required."),
        ("email", "Email is required."),
        ("password", "Password is required."),
    ],
)
def test_signup_names_a_missing_field(api, field, message):
    body = {key: value for key, value in VALID.items() if key != field}

    response = api.post(SIGNUP, body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"] == message
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "password"])
def test_signup_refuses_a_blank_field(api, field):
    response = api.post(SIGNUP, {**VALID, field: ""}, format="json")

    assert response.status_code == 400
    assert response.json()["error"].endswith("is required.")


def test_signup_refuses_an_invalid_email(api):
    response = api.post(SIGNUP, {**VALID, "email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Enter a valid email address.",
        "detail": "Enter a valid email address.",
    }


def test_signup_refuses_an_email_already_registered_in_any_case(api):
    assert api.post(SIGNUP, VALID, format="json").status_code == 201

    again = api.post(SIGNUP, {**VALID, "email": "FooBar@Gmail.COM"}, format="json")

    assert again.status_code == 400
    assert again.json()["error"] == "An account with this email already exists."
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("password", "This password is too common."),
        ("83749261537", "This password is entirely numeric."),
    ],
)
def test_signup_reports_what_the_password_validators_say(api, password, message):
    response = api.post(SIGNUP, {**VALID, "password": password}, format="json")

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not get_user_model().objects.exists()


def test_signup_with_malformed_json_is_a_json_400(api):
    response = api.post(SIGNUP, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "JSON parse error" in response.json()["error"]
