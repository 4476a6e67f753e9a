"""The order's page: the confirmation right after paying, and an order opened later."""

import json
import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.shopper import JUST_PAID, VISA, click_buy, enter_card, log_in, pay_button

pytestmark = pytest.mark.browser


def pay_for_a_tote(page):
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    return Order.objects.get()


def test_the_confirmation_shows_once_right_after_paying_with_what_comes_next(page, user, devstripe):
    log_in(page, user.email)
    order = pay_for_a_tote(page)

    main = page.locator("#main")
    expect(main.get_by_role("heading", level=1)).to_have_count(1)
    expect(main).to_contain_text("Your payment went through.")
    expect(main).to_contain_text("A receipt is on its way to your email")
    expect(page.get_by_role("link", name="Continue shopping")).to_be_visible()
    expect(page.get_by_role("link", name="View my orders")).to_be_visible()

    # Opened again later (a reload, or from My orders): its status, not a second thank-you.
    page.reload()
    expect(page.get_by_role("heading", name="Order paid")).to_be_visible()
    expect(main).not_to_contain_text("Thank you")
    expect(main).not_to_contain_text("your order is confirmed")
    page.get_by_role("link", name="View my orders").click()
    page.get_by_role("link", name=f"#{order.id}").click()
    expect(page.get_by_role("heading", name="Order paid")).to_be_visible()
    expect(main).not_to_contain_text("Thank you")


def test_the_confirmation_of_a_card_payment_names_the_card_once_the_shop_knows_it(
    page, user, devstripe
):
    # The pop-up pays with a PaymentIntent, whose answer names its charge only: the shop
    # learns the card's brand and last four just after (with the receipt), and the
    # confirmation shows them without a reload.
    log_in(page, user.email)
    order = pay_for_a_tote(page)

    main = page.locator("#main")
    expect(main).to_contain_text("Visa •••• 4242", timeout=15_000)
    expect(main).to_contain_text("Paid with Visa •••• 4242.")
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    order.refresh_from_db()
    assert (order.card_brand, order.card_last4) == ("visa", "4242")


def with_receipt_details(details):
    """Answers GET /api/order/<id>/ as the shop does, with `details` put in (or taken out:
    None) — whatever the shop's version sends, the page is tried with and without them."""

    def handle(route):
        if route.request.method != "GET":
            route.fallback()
            return
        response = route.fetch()
        order = response.json()
        for name, value in details.items():
            if value is None:
                order.pop(name, None)
            else:
                order[name] = value
        route.fulfill(response=response, body=json.dumps(order))

    return handle


def test_an_orders_card_and_receipt_are_shown_when_the_shop_has_them(page, user, devstripe):
    log_in(page, user.email)
    order = pay_for_a_tote(page)
    receipt = "https://pay.stripe.com/receipts/acct_test/ch_test/rcpt_test"
    page.route(
        re.compile(rf"/api/order/{order.id}/$"),
        with_receipt_details({"card_brand": "visa", "card_last4": "4242", "receipt_url": receipt}),
    )
    page.reload()
    expect(page.get_by_role("heading", name="Order paid")).to_be_visible()
    expect(page.locator(".order-card-used")).to_have_text("Visa •••• 4242")
    link = page.get_by_role("link", name="View receipt")
    expect(link).to_have_attribute("href", receipt)
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_an_order_without_card_or_receipt_details_shows_without_them(page, user, devstripe):
    log_in(page, user.email)
    order = pay_for_a_tote(page)
    page.route(
        re.compile(rf"/api/order/{order.id}/$"),
        with_receipt_details({"card_brand": None, "card_last4": None, "receipt_url": None}),
    )
    page.reload()
    expect(page.get_by_role("heading", name="Order paid")).to_be_visible()
    expect(page.locator(".order-details")).to_contain_text(f"#{order.id}")
    expect(page.locator(".order-card-used")).to_have_count(0)
    expect(page.get_by_role("link", name="View receipt")).to_have_count(0)
