"""Signing up, logging in and sessions that end, in a real browser."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from rest_framework_simplejwt.tokens import AccessToken

from catalog.models import Product
from orders.models import Order
from tests.frontend.shopper import (
    VISA,
    click_buy,
    enter_card,
    fill_login_form,
    fill_signup_form,
    log_in,
    pay_button,
    payment_popup,
    sign_up,
)

pytestmark = pytest.mark.browser

SESSION_KEY = "stripe-demo-shop.session"


def field_error(page, field_id):
    return page.locator(f"#{field_id}-error")


def test_sign_up_shows_the_apis_message_next_to_the_field_it_is_about(page, user):
    sign_up(page, user.email)
    expect(field_error(page, "signup-email")).to_have_text(
        "An account with this email already exists."
    )
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_be_focused()

    page.get_by_label("Email").fill("someone.new@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(field_error(page, "signup-password")).to_contain_text("This password is too short.")
    expect(page.get_by_label("Password")).to_be_focused()
    # The earlier message is gone: one answer, one message.
    expect(field_error(page, "signup-email")).to_be_empty()

    page.get_by_label("First name").fill("")
    page.get_by_role("button", name="Create account").click()
    expect(field_error(page, "signup-first-name")).to_have_text("First name is required.")


def test_an_empty_sign_up_form_flags_every_field_at_once_without_asking_the_shop(page):
    sent = []
    page.on(
        "request", lambda request: sent.append(request) if "/api/signup/" in request.url else None
    )
    page.goto("/#/signup")
    page.get_by_role("button", name="Create account").click()

    for field_id, label, message in [
        ("signup-first-name", "First name", "First name is required."),
        ("signup-last-name", "Last name", "Last name is required."),
        ("signup-email", "Email", "Email is required."),
        ("signup-password", "Password", "Password is required."),
    ]:
        expect(field_error(page, field_id)).to_have_text(message)
        field = page.get_by_label(label)
        expect(field).to_have_attribute("aria-invalid", "true")
        # The message is the field's description: a screen reader reads it with the field.
        expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    expect(page.get_by_label("First name")).to_be_focused()
    assert sent == []

    page.get_by_label("First name").fill("Sam")
    page.get_by_label("Last name").fill("Shopper")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(field_error(page, "signup-first-name")).to_be_empty()
    expect(field_error(page, "signup-email")).to_contain_text("Enter an email address")
    expect(field_error(page, "signup-password")).to_contain_text("at least 8 characters")
    expect(page.get_by_label("Email")).to_be_focused()
    assert sent == []


def test_an_empty_log_in_form_names_the_missing_fields(page, user):
    page.goto("/#/login")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(field_error(page, "login-email")).to_have_text("Enter your email.")
    expect(field_error(page, "login-password")).to_have_text("Enter your password.")
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.get_by_text("Wrong email or password.")).to_have_count(0)

    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(field_error(page, "login-email")).to_be_empty()
    expect(field_error(page, "login-password")).to_have_text("Enter your password.")
    expect(page.get_by_label("Password")).to_be_focused()


def test_a_wrong_password_is_shown_next_to_the_password(page, user):
    page.goto("/#/login")
    fill_login_form(page, user.email, "not-the-password")

    expect(field_error(page, "login-password")).to_have_text("Wrong email or password.")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()


def expired_token(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    return str(token)


def forged_token(user):
    """Well formed and not yet expired, but not signed by the shop: the API refuses it."""
    header, payload, _ = str(AccessToken.for_user(user)).split(".")
    return f"{header}.{payload}.{'A' * 43}"


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (expired_token, "Your session has expired. Please log in again."),
        (forged_token, "Your session has expired or is no longer valid. Please log in again."),
    ],
    ids=["expired", "rejected"],
)
def test_an_expired_or_rejected_login_sends_the_shopper_back_to_log_in(
    page, user, make_token, message
):
    session = json.dumps({"token": make_token(user), "email": user.email})
    page.add_init_script(f"localStorage.setItem({SESSION_KEY!r}, {json.dumps(session)})")
    page.goto("/#/orders")

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text(message)).to_be_visible()
    assert page.evaluate(f"localStorage.getItem({SESSION_KEY!r})") is None

    fill_login_form(page, user.email)
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
    expect(page.get_by_text("No orders yet.")).to_be_visible()


def test_a_rejected_login_while_paying_comes_back_to_the_product_after_logging_in(
    page, user, devstripe
):
    log_in(page, user.email)
    page.evaluate(
        """([key, token]) => {
            const session = JSON.parse(localStorage.getItem(key));
            localStorage.setItem(key, JSON.stringify({...session, token}));
            window.dispatchEvent(new StorageEvent('storage', {key}));
        }""",
        [SESSION_KEY, forged_token(user)],
    )
    popup = click_buy(page, "Canvas Tote")
    popup.get_by_label("Quantity").select_option("3")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup).to_be_hidden()
    expect(page.get_by_text("no longer valid. Please log in again.")).to_be_visible()
    assert Order.objects.count() == 0
    fill_login_form(page, user.email)
    expect(payment_popup(page)).to_be_visible()
    expect(payment_popup(page)).to_contain_text("Canvas Tote")
    # The quantity chosen before the login ended, not 1 again.
    expect(payment_popup(page).get_by_label("Quantity")).to_have_value("3")


def test_signing_up_on_the_way_to_buy_logs_in_and_reopens_that_product_with_its_quantity(
    page, devstripe
):
    tote = Product.objects.get(name="Canvas Tote")
    page.goto(f"/#/products/{tote.id}")
    page.locator("#product-quantity").select_option("3")
    page.get_by_role("button", name="Buy Canvas Tote").click()
    expect(page.get_by_text("Log in (or sign up) to buy Canvas Tote.")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    fill_signup_form(page, "on.the.way@example.com", first_name="Robin")

    popup = payment_popup(page)
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("Canvas Tote")
    # The quantity chosen before signing up, not 1 again.
    expect(popup.get_by_label("Quantity")).to_have_value("3")
    expect(page.get_by_text("Welcome, Robin — your account is ready.")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert json.loads(page.evaluate(f"localStorage.getItem({SESSION_KEY!r})"))["email"] == (
        "on.the.way@example.com"
    )


def test_signing_up_from_the_navbar_logs_in_and_shows_the_catalog(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    fill_signup_form(page, "from.the.navbar@example.com", first_name="Alex")

    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_text("Welcome, Alex — your account is ready.")).to_be_visible()
    expect(page.get_by_text("from.the.navbar@example.com")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_when_the_log_in_after_sign_up_fails_the_filled_in_log_in_form_takes_over(page):
    # The shop refuses the automatic log-in as it would a throttled client.
    page.route(
        "**/api/api-token-auth/",
        lambda route: route.fulfill(
            status=429,
            content_type="application/json",
            body=json.dumps({"detail": "Request was throttled."}),
        ),
    )
    sign_up(page, "throttled.shopper@example.com")

    expect(page.get_by_text("Your account is ready. Log in to start shopping.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("throttled.shopper@example.com")
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    assert page.evaluate(f"localStorage.getItem({SESSION_KEY!r})") is None
    assert get_user_model().objects.filter(email="throttled.shopper@example.com").exists()
