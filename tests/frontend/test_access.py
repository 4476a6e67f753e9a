"""The shop with the keyboard alone, and on a phone."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.shopper import (
    JUST_PAID,
    VISA,
    click_buy,
    enter_card,
    log_in,
    next_year_expiry,
    payment_popup,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser


def test_a_shopper_can_buy_with_the_keyboard_alone(page, user, devstripe):
    log_in(page, user.email)
    buy = page.get_by_role("button", name="Buy Team Cap")
    buy.focus()
    page.keyboard.press("Escape")  # nothing open yet: no effect
    page.keyboard.press("Enter")

    popup = payment_popup(page)
    expect(popup).to_be_visible()
    expect(popup.get_by_label("Card number")).to_be_focused()
    page.keyboard.press("Escape")
    expect(popup).to_be_hidden()
    expect(buy).to_be_focused()  # back where the shopper was

    page.keyboard.press("Enter")
    expect(popup.get_by_label("Card number")).to_be_focused()
    page.keyboard.type(VISA.replace(" ", ""))
    page.keyboard.press("Tab")
    page.keyboard.type(next_year_expiry().replace(" / ", ""))
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    page.keyboard.press("Tab")
    # The test mode hint, closed: a disclosure the keyboard can open, and pass by.
    expect(popup.get_by_text("Test mode: cards and bank accounts to try")).to_be_focused()
    page.keyboard.press("Tab")
    expect(popup.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(popup.get_by_role("button", name="Pay $17.00")).to_be_focused()
    page.keyboard.press("Enter")

    heading = page.get_by_role("heading", name=JUST_PAID)
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()  # the new page is announced
    assert Order.objects.get().status == "PAID"


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_shop_is_usable_on_a_phone(phone_page, user, devstripe):
    page = phone_page
    page.goto("/")
    expect(page.get_by_role("link", name="Log in")).to_be_hidden()  # behind the menu button
    assert fits_the_screen(page)

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()

    popup = click_buy(page, "Canvas Tote")
    expect(popup).to_be_visible()
    box = popup.locator(".modal-content").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    enter_card(popup, VISA)
    popup.get_by_role("button", name="Pay $14.25").click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()

    page.get_by_role("link", name="View my orders").click()
    expect(page.locator(".order-status")).to_have_text("Paid")
    assert fits_the_screen(page)
