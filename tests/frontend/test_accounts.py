"""Signing up, logging in and sessions that end, in a real browser."""

import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from rest_framework_simplejwt.tokens import AccessToken

from orders.models import Order
from tests.frontend.shopper import (
    VISA,
    card_popup,
    click_buy,
    enter_card,
    fill_login_form,
    log_in,
    pay_button,
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
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup).to_be_hidden()
    expect(page.get_by_text("no longer valid. Please log in again.")).to_be_visible()
    assert Order.objects.count() == 0
    fill_login_form(page, user.email)
    expect(card_popup(page)).to_be_visible()
    expect(card_popup(page)).to_contain_text("Canvas Tote")
