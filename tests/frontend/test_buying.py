"""Buying in a real browser: the card pop-up, Stripe.js tokens, declines and double clicks.

Each journey is checked where it ends: in the database and at devstripe.
"""

import json

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.shopper import (
    DECLINED,
    VISA,
    card_popup,
    click_buy,
    enter_card,
    fill_login_form,
    log_in,
    orders_posted,
    pay_button,
    sign_up,
)

pytestmark = pytest.mark.browser


def charges_at(devstripe):
    return devstripe.requests(path="/v1/charges", method="POST")


def test_a_new_shopper_signs_up_logs_in_pays_and_finds_the_order_paid(page, devstripe, screenshot):
    posted = orders_posted(page)
    page.goto("/")
    expect(page.get_by_role("heading", name="Small things, paid properly.")).to_be_visible()
    tshirt = page.locator(".product-card", has_text="Idempotent T-shirt")
    expect(tshirt).to_contain_text("$19.99")
    # Its picture ships with the shop and loads from it.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=tshirt.locator("img").element_handle()
    )
    assert "/static/catalog/products/" in tshirt.locator("img").get_attribute("src")
    screenshot(page, "home", full_page=True)

    sign_up(page, "new.shopper@example.com")
    expect(page.get_by_text("Your account is ready. Log in to start shopping.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("new.shopper@example.com")
    fill_login_form(page, "new.shopper@example.com")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_text("new.shopper@example.com")).to_be_visible()
    screenshot(page, "catalog")

    popup = click_buy(page, "Idempotent T-shirt")
    expect(popup).to_be_visible()
    popup.get_by_label("Quantity").select_option("2")
    expect(popup.get_by_test_id("buy-total")).to_have_text("$39.98")
    enter_card(popup, VISA)
    screenshot(page, "card_popup")
    pay_button(popup).click()

    expect(page.get_by_role("heading", name="Payment submitted")).to_be_visible()
    expect(popup).to_be_hidden()
    order = Order.objects.get()
    assert (order.status, order.quantity, order.amount) == ("PAID", 2, 3998)
    assert order.user.email == "new.shopper@example.com"
    assert order.product.name == "Idempotent T-shirt"
    expect(page.get_by_role("main")).to_contain_text(f"#{order.id}")
    expect(page.get_by_role("main")).to_contain_text("$39.98")
    screenshot(page, "payment_submitted")

    # The browser sent a Stripe token, never the card number.
    [request] = posted
    body = json.loads(request.post_data)
    assert body["token"].startswith("tok_")
    assert body["product"] == order.product_id and body["quantity"] == 2
    assert "4242" not in request.post_data
    [charge] = charges_at(devstripe)
    assert charge["params"]["source"] == body["token"]
    assert charge["params"]["amount"] == "3998"

    page.get_by_role("link", name="View my orders").click()
    row = page.locator(f'tr[data-order-id="{order.id}"]')
    expect(row).to_contain_text("Idempotent T-shirt")
    expect(row.locator(".order-quantity")).to_have_text("2")
    expect(row.locator(".order-amount")).to_have_text("$39.98")
    expect(row.locator(".order-status")).to_have_text("Paid")
    expect(row.locator(".order-date")).not_to_be_empty()
    screenshot(page, "orders_paid")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="My orders").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("Log in to see your orders.")).to_be_visible()


def test_a_declined_card_shows_stripes_message_and_another_card_then_pays(
    page, user, devstripe, screenshot
):
    posted = orders_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, DECLINED)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")
    expect(pay_button(popup)).to_be_enabled()
    screenshot(page, "declined")
    declined = Order.objects.get()
    assert declined.status == "FAILED"
    assert declined.failure_message == "Your card was declined."

    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name="Payment submitted")).to_be_visible()
    assert [order.status for order in Order.objects.order_by("id")] == ["FAILED", "PAID"]
    assert len(charges_at(devstripe)) == 2
    # Two purchase attempts: two idempotency keys, and two different tokens.
    keys = {request.headers["idempotency-key"] for request in posted}
    tokens = {json.loads(request.post_data)["token"] for request in posted}
    assert len(posted) == len(keys) == len(tokens) == 2

    page.get_by_role("link", name="View my orders").click()
    failed_row = page.locator(f'tr[data-order-id="{declined.id}"]')
    expect(failed_row.locator(".order-status")).to_have_text("Failed")
    expect(failed_row).to_contain_text("Your card was declined.")
    screenshot(page, "orders")


def test_card_details_stripe_js_refuses_never_reach_the_shop(page, user, devstripe):
    posted = orders_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Sticker Pack")
    popup.get_by_label("Card number").fill("4242 4242 42")
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_have_text("Your card number is incomplete.")
    assert posted == []
    assert Order.objects.count() == 0


def test_a_double_click_on_pay_makes_one_order_and_one_charge(page, user, devstripe):
    devstripe.configure(latency_ms=300)  # the payment is still in flight at the second click
    posted = orders_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, VISA)

    pay_button(popup).dblclick()

    expect(page.get_by_role("heading", name="Payment submitted")).to_be_visible()
    assert len(posted) == 1
    assert Order.objects.count() == 1
    assert len(charges_at(devstripe)) == 1


def test_pay_again_after_a_lost_connection_retries_the_same_attempt(page, user, devstripe):
    posted = orders_posted(page)
    lost = []

    def lose_the_first_order_request(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.request)
            route.abort("connectionreset")  # it never reaches the shop
        else:
            route.continue_()

    page.route("**/api/order/", lose_the_first_order_request)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_contain_text(
        "Pressing Pay again retries the same payment."
    )
    pay_button(popup).click()

    expect(page.get_by_role("heading", name="Payment submitted")).to_be_visible()
    assert len(posted) == 2
    assert posted[0].headers["idempotency-key"] == posted[1].headers["idempotency-key"]
    assert posted[0].post_data == posted[1].post_data  # the same token, product and quantity
    assert Order.objects.get().status == "PAID"
    assert len(charges_at(devstripe)) == 1


def test_a_logged_out_shopper_who_clicks_buy_logs_in_and_comes_back_to_the_product(
    page, user, devstripe
):
    page.goto("/#/catalog")
    page.get_by_role("button", name="Buy Field Notebook").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("Log in (or sign up) to buy Field Notebook.")).to_be_visible()
    fill_login_form(page, user.email)

    popup = card_popup(page)
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("Field Notebook")
    expect(popup.get_by_label("Card number")).to_be_focused()
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name="Payment submitted")).to_be_visible()
    assert Order.objects.get().product.name == "Field Notebook"
