"""Password guessing locks an account out from the guesser's address (django-axes): on the
admin's login form and on the API's token endpoint alike, the right password included,
until the cool-off passes. Other addresses are not locked out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.lockout import client_ip_address
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
TOKEN = "/api/api-token-auth/"
GUESSER = "203.0.113.7"
ELSEWHERE = "198.51.100.2"
COOL_OFF = timedelta(minutes=15)
LOCKED_OUT = "Too many failed logins for this account from your address. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def production_lockout(settings):
    """The production defaults (the suite's conftest relaxes them for every other test)."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = COOL_OFF
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # quick


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)


def admin_login(client, password, address=GUESSER, username="admin"):
    return client.post(
        ADMIN_LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def token_login(api, password, username="shopper@example.com", address=GUESSER, **headers):
    return api.post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address,
        **headers,
    )  # fmt: skip


def cool_off_passes():
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOL_OFF - timedelta(seconds=1))


def test_the_admin_login_locks_after_five_wrong_passwords_of_twenty_five(client, staff):
    statuses = [admin_login(client, f"guess-{n}").status_code for n in range(25)]

    # The form again, with its error, four times; then the lockout for every other try.
    assert statuses[:4] == [200] * 4
    assert statuses[4:] == [429] * 21


def test_a_locked_out_admin_is_refused_the_right_password_until_the_cool_off_passes(client, staff):
    for n in range(5):
        admin_login(client, f"guess-{n}")

    refused = admin_login(client, PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == COOL_OFF.total_seconds()
    assert refused["Content-Type"].startswith("text/html")
    page = refused.content.decode()
    assert "Too many failed logins" in page and LOCKED_OUT in page
    assert 'name="password"' not in page
    assert "_auth_user_id" not in client.session

    cool_off_passes()
    response = admin_login(client, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_another_address_can_still_log_in_as_the_locked_out_admin(client, staff):
    for n in range(6):
        admin_login(client, f"guess-{n}")

    response = admin_login(client, PASSWORD, address=ELSEWHERE)

    assert response.status_code == 302
    assert admin_login(client, PASSWORD, address=GUESSER).status_code == 429


def test_a_lockout_on_the_admin_login_also_refuses_a_token_from_the_api(client, api, staff):
    for n in range(5):
        admin_login(client, f"guess-{n}")

    response = token_login(api, PASSWORD, username="admin")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"success": False, "error": LOCKED_OUT, "detail": LOCKED_OUT}
    assert int(response["Retry-After"]) == COOL_OFF.total_seconds()
    assert "token" not in response.json()


def test_guessing_through_the_api_locks_the_account_out_of_the_api_and_the_admin(
    api, client, user, staff
):
    statuses = [token_login(api, f"guess-{n}").status_code for n in range(4)]
    fifth = token_login(api, "guess-4")

    assert statuses == [400] * 4
    assert fifth.status_code == 429
    assert fifth.json()["error"] == LOCKED_OUT
    assert token_login(api, PASSWORD).status_code == 429
    assert token_login(api, PASSWORD, address=ELSEWHERE).status_code == 200

    for n in range(5):
        token_login(api, f"guess-{n}", username="admin")
    assert admin_login(client, PASSWORD).status_code == 429


def test_the_email_counts_whatever_its_case(api, user):
    for n, email in enumerate(
        ["Shopper@example.com", "SHOPPER@EXAMPLE.COM", "shopper@Example.com"]
    ):
        token_login(api, f"guess-{n}", username=email)
    for n in range(2):
        token_login(api, f"guess-{n}")

    assert token_login(api, PASSWORD).status_code == 429


def test_an_unknown_email_locks_out_the_same_way(api, user):
    """A lockout tells a guesser nothing about which emails have accounts."""
    unknown = [token_login(api, "guess", username="nobody@example.com") for _ in range(5)]
    known = [token_login(api, "guess") for _ in range(5)]

    assert [r.status_code for r in unknown] == [r.status_code for r in known]
    assert known[-1].status_code == 429
    assert unknown[-1].json() == known[-1].json()


@pytest.mark.parametrize("login", ["api", "admin"])
def test_a_successful_login_forgets_the_failures_before_it(api, client, user, staff, login):
    if login == "api":
        attempt = lambda password: token_login(api, password).status_code  # noqa: E731
        wrong, right = 400, 200
    else:
        attempt = lambda password: admin_login(client, password).status_code  # noqa: E731
        wrong, right = 200, 302

    assert [attempt(f"guess-{n}") for n in range(4)] == [wrong] * 4
    assert attempt(PASSWORD) == right
    # Counted afresh: four more failures are not a lockout, the fifth is.
    assert [attempt(f"guess-{n}") for n in range(4)] == [wrong] * 4
    assert attempt("guess-4") == 429


def test_a_rotating_x_forwarded_for_does_not_escape_the_lockout(api, user, settings):
    """TRUSTED_PROXY_COUNT unset: the socket's address is the client's, whatever XFF says."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}

    for n in range(5):
        token_login(api, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert token_login(api, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_trusted_proxies_the_forwarded_client_address_is_locked_out(api, user, settings):
    """Behind Elastic Beanstalk (2 proxies) the address the load balancer saw counts, the
    same one the login throttle counts: not nginx's, not what the client forged."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}

    def login(password, client_address, forged="10.9.9.9"):
        return token_login(
            api,
            password,
            address="127.0.0.1",  # nginx on the instance
            HTTP_X_FORWARDED_FOR=f"{forged}, {client_address}, 172.31.0.10",
        ).status_code

    for n in range(5):
        login(f"guess-{n}", "198.51.100.1", forged=f"10.0.0.{n}")

    assert login(PASSWORD, "198.51.100.1") == 429
    assert login(PASSWORD, "198.51.100.2") == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.1"}


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "expected"),
    [
        (None, "192.0.2.1", "203.0.113.7"),
        (2, "192.0.2.1, 2001:DB8::1, 172.31.0.10", "2001:db8::1"),
        (2, "not-an-address", None),
    ],
    ids=["socket", "forwarded", "not-an-address"],
)
def test_the_locked_out_address_is_the_throttles_client_address(
    rf, settings, num_proxies, forwarded_for, expected
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    request = rf.post(TOKEN, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip_address(request) == expected
