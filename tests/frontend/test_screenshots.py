"""The pictures of the shop: the journeys walked only to take them.

Each test goes where a picture is wanted and saves it in tests/artifacts/screenshots/
(git-ignored); what the shop does on the way is checked by the behavioural tests
(test_buying.py, test_three_d_secure.py, ...), not here. The README shows some of them
from docs/screenshots/ under the same names: run

    UPDATE_DOCS_SCREENSHOTS=1 pytest tests/frontend/test_screenshots.py -m browser

to refresh those too.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.conftest import DESKTOP, PHONE
from tests.frontend.shopper import (
    ACCOUNT_PAYS,
    DECLINED,
    JUST_PAID,
    PAYMENT_PENDING,
    PROCESSING,
    REDIRECT_METHOD,
    THREE_D_SECURE,
    VISA,
    bank_check,
    choose_payment_method,
    click_buy,
    close_popup,
    enter_bank_account,
    enter_card,
    fail_authentication,
    fill_login_form,
    log_in,
    pay_button,
    pay_now,
    redirect_page_button,
    sign_up,
    wait_until_true,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"

# Every picture this module takes (a phone_ twin of some is taken at a phone's width).
PICTURES = {
    "home",
    "catalog",
    "payment_popup",
    "payment_submitted",
    "orders_paid",
    "declined",
    "orders",
    "three_d_secure_challenge",
    "three_d_secure_failed",
    "signup_error",
    "phone_home",
    "phone_payment_popup",
    "phone_orders",
    "payment_pending",
    "phone_payment_pending",
    "orders_pay_now",
    "phone_orders_pay_now",
    "pay_now_popup",
    "order_pay_now",
    "phone_order_pay_now",
    "redirect_page",
    "redirect_failed",
    "bank_debit_popup",
    "payment_processing",
    "phone_payment_processing",
}


@pytest.fixture
def screenshot():
    """screenshot(page, "orders") saves tests/artifacts/screenshots/orders.png (and, with
    UPDATE_DOCS_SCREENSHOTS=1, docs/screenshots/orders.png when the README shows it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    update_docs = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"

    def take(page, name, full_page=False):
        assert name in PICTURES, f"add {name!r} to PICTURES"
        page.mouse.move(0, 0)  # no hover effects in the picture
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=full_page, animations="disabled")
        if update_docs and name in readme_pictures():
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")

    return take


def readme_pictures():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"docs/screenshots/([\w-]+)\.png", readme))


def test_every_picture_the_readme_shows_is_taken_here_and_kept_in_docs():
    shown = readme_pictures()
    assert shown, "the README shows no screenshot any more?"
    assert shown <= PICTURES
    assert {name for name in shown if not (DOCS_SCREENSHOTS / f"{name}.png").is_file()} == set()


def at_desktop_and_phone_width(page, screenshot, name):
    """The page as it is, at desktop size and at a phone's width."""
    screenshot(page, name, full_page=True)
    page.set_viewport_size(PHONE)
    screenshot(page, f"phone_{name}", full_page=True)
    page.set_viewport_size(DESKTOP)


def picture_loaded(product_card):
    """Wait until the product's picture shows (they load lazily)."""
    wait_until_true(
        product_card.page,
        "img => img.complete && img.naturalWidth > 0",
        product_card.locator("img").element_handle(),
    )


def buy_with_a_declined_card(page, product_name, quantity="1"):
    popup = click_buy(page, product_name)
    popup.get_by_label("Quantity").select_option(quantity)
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).not_to_be_empty()
    close_popup(popup)
    return Order.objects.get()


@pytest.mark.browser
def test_a_new_shopper_buys(page, devstripe, screenshot):
    page.goto("/")
    picture_loaded(page.locator(".product-card", has_text="Idempotent T-shirt"))
    screenshot(page, "home", full_page=True)

    sign_up(page, "new.shopper@example.com")
    expect(page.get_by_text("Welcome, Sam — your account is ready.")).to_be_visible()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    screenshot(page, "catalog")

    popup = click_buy(page, "Idempotent T-shirt")
    popup.get_by_label("Quantity").select_option("2")
    enter_card(popup, VISA)
    screenshot(page, "payment_popup")
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    expect(popup).to_be_hidden()
    screenshot(page, "payment_submitted")

    page.get_by_role("link", name="View my orders").click()
    expect(page.locator(".order-status")).to_have_text("Paid")
    screenshot(page, "orders_paid")


@pytest.mark.browser
def test_a_declined_card_then_another(page, user, devstripe, screenshot):
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).not_to_be_empty()
    expect(popup.get_by_label("Card number")).to_be_focused()
    screenshot(page, "declined")

    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    page.get_by_role("link", name="View my orders").click()
    expect(page.locator(".order-status")).to_have_text("Paid")
    screenshot(page, "orders")


@pytest.mark.browser
def test_the_banks_step_and_a_failed_authentication(page, user, devstripe, screenshot):
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    expect(bank_check(page).get_by_role("button", name="Fail authentication")).to_be_visible()
    expect(popup.locator(".pay-status")).not_to_be_empty()
    screenshot(page, "three_d_secure_challenge")

    fail_authentication(page)
    expect(popup.locator(".pay-error")).not_to_be_empty()
    expect(popup.get_by_label("Card number")).to_be_focused()
    screenshot(page, "three_d_secure_failed")


@pytest.mark.browser
def test_sign_up_errors(page, user, screenshot):
    sign_up(page, user.email)
    expect(page.locator("#signup-email-error")).not_to_be_empty()
    page.get_by_label("Email").fill("someone.new@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#signup-password-error")).not_to_be_empty()
    screenshot(page, "signup_error")


@pytest.mark.browser
def test_on_a_phone(phone_page, user, devstripe, screenshot):
    page = phone_page
    page.goto("/")
    picture_loaded(page.locator(".product-card").first)
    screenshot(page, "phone_home")

    page.goto("/#/login")
    fill_login_form(page, user.email)
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, VISA)
    screenshot(page, "phone_payment_popup")
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    page.get_by_role("link", name="View my orders").click()
    expect(page.locator(".order-status")).to_have_text("Paid")
    screenshot(page, "phone_orders", full_page=True)


@pytest.mark.browser
def test_a_payment_pending_while_stripe_is_down(page, user, devstripe, screenshot):
    devstripe.add_fault(path="/v1/payment_intents", method="POST", mode="error_500", times=20)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=PAYMENT_PENDING)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Checking with Stripe")).to_be_visible()
    at_desktop_and_phone_width(page, screenshot, "payment_pending")

    # Stripe comes back: the page ends paid before the test ends (nothing left running).
    devstripe._call("DELETE", "/_devstripe/faults")
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=30_000)


@pytest.mark.browser
def test_a_failed_order_paid_later(page, user, devstripe, screenshot):
    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Team Cap", quantity="2")
    page.reload()
    page.get_by_role("link", name="My orders").click()
    expect(page.get_by_role("button", name=f"Pay order {failed.id} again")).to_be_visible()
    at_desktop_and_phone_width(page, screenshot, "orders_pay_now")

    popup = pay_now(page, failed.id)
    enter_card(popup, VISA)
    screenshot(page, "pay_now_popup")
    close_popup(popup)

    page.goto(f"/#/orders/{failed.id}")
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    at_desktop_and_phone_width(page, screenshot, "order_pay_now")


@pytest.mark.browser
def test_a_payment_page_and_a_bank_debit(
    page, user, devstripe, webhooks_to, shop, bank_debits_settle_after, screenshot
):
    webhooks_to(shop)
    bank_debits_settle_after(120_000)  # settled at the end, once the pictures are taken
    log_in(page, user.email)
    popup = click_buy(page, "Field Notebook")
    choose_payment_method(popup, REDIRECT_METHOD)
    pay_button(popup).click()
    fail = redirect_page_button(page, "Fail test payment")
    expect(fail).to_be_visible()
    screenshot(page, "redirect_page")
    fail.click()
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible(timeout=15_000)
    screenshot(page, "redirect_failed")

    page.get_by_role("link", name="Catalog").click()
    popup = click_buy(page, "Team Cap")
    enter_bank_account(popup, ACCOUNT_PAYS)
    screenshot(page, "bank_debit_popup")
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=PROCESSING)).to_be_visible()
    at_desktop_and_phone_width(page, screenshot, "payment_processing")

    # The bank debit goes through: the page ends paid before the test ends.
    devstripe.settle(Order.objects.get(product__name="Team Cap").stripe_payment_intent_id)
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=20_000)
