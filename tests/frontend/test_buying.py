"""Buying in a real browser: the payment pop-up, Stripe.js's Payment Element and
ConfirmationTokens, declines and double clicks. (The bank's 3-D Secure step:
test_three_d_secure.py; methods that leave the page or settle later:
test_payment_methods.py.)

Each journey is checked where it ends: in the database and at devstripe.
"""

import json

import pytest
import stripe
from playwright.sync_api import expect

from orders.models import Order, PaymentAttempt
from tests.frontend.shopper import (
    DECLINED,
    JUST_PAID,
    VISA,
    click_buy,
    enter_card,
    fill_login_form,
    log_in,
    message_in_the_form,
    orders_posted,
    path_of,
    pay_button,
    payment_popup,
    payments_posted,
    sign_up,
    wait_until_ready,
    wait_until_true,
)
from tests.helpers import charges_at, succeeded_charges

pytestmark = pytest.mark.browser


def intents_created(devstripe):
    return devstripe.requests(path="/v1/payment_intents", method="POST")


def confirmation_token_at(devstripe, confirmation_token_id):
    client = stripe.StripeClient(devstripe.secret_key, base_addresses={"api": devstripe.url})
    return client.v1.confirmation_tokens.retrieve(confirmation_token_id).to_dict()


def confirmation_tokens_made(devstripe):
    """The ConfirmationTokens Stripe.js made (POST /v1/confirmation_tokens)."""
    return devstripe.requests(path="/v1/confirmation_tokens", method="POST")


def test_a_new_shopper_signs_up_is_logged_in_pays_and_finds_the_order_paid(page, devstripe):
    posted = orders_posted(page)
    page.goto("/")
    expect(page.get_by_role("heading", name="Small things, paid properly.")).to_be_visible()
    tshirt = page.locator(".product-card", has_text="Idempotent T-shirt")
    expect(tshirt).to_contain_text("$19.99")
    # Its picture ships with the shop and loads from it.
    wait_until_true(
        page, "img => img.complete && img.naturalWidth > 0", tshirt.locator("img").element_handle()
    )
    assert "/static/catalog/products/" in tshirt.locator("img").get_attribute("src")

    sign_up(page, "new.shopper@example.com")
    expect(page.get_by_text("Welcome, Sam — your account is ready.")).to_be_visible()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_text("new.shopper@example.com")).to_be_visible()

    popup = click_buy(page, "Idempotent T-shirt")
    expect(popup).to_be_visible()
    popup.get_by_label("Quantity").select_option("2")
    expect(popup.get_by_test_id("buy-total")).to_have_text("$39.98")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    expect(popup).to_be_hidden()
    order = Order.objects.get()
    assert (order.status, order.quantity, order.amount) == ("PAID", 2, 3998)
    assert order.user.email == "new.shopper@example.com"
    assert order.product.name == "Idempotent T-shirt"
    expect(page.get_by_role("main")).to_contain_text(f"#{order.id}")
    expect(page.get_by_role("main")).to_contain_text("$39.98")

    # The card went from the page to Stripe (with the publishable key); the shop got a
    # ConfirmationToken id, never the card number, and paid with it through a
    # PaymentIntent it created for the amount in its database.
    [made] = confirmation_tokens_made(devstripe)
    assert made["key_kind"] == "publishable"
    [request] = posted
    body = json.loads(request.post_data)
    assert "token" not in body and "payment_method" not in body
    assert body["confirmation_token"].startswith("ctoken_")
    token = confirmation_token_at(devstripe, body["confirmation_token"])
    assert token["payment_method_preview"]["card"]["last4"] == "4242"
    assert body["product"] == order.product_id and body["quantity"] == 2
    assert "4242" not in request.post_data
    [intent] = intents_created(devstripe)
    assert intent["params"]["amount"] == "3998"
    assert order.stripe_payment_intent_id.startswith("pi_")
    assert token["payment_intent"] == order.stripe_payment_intent_id  # used, once
    [confirmed] = devstripe.requests(
        path=f"/v1/payment_intents/{order.stripe_payment_intent_id}/confirm", method="POST"
    )
    assert confirmed["params"]["confirmation_token"] == body["confirmation_token"]
    [charge] = charges_at(devstripe)
    assert (charge["status"], charge["amount"]) == ("succeeded", 3998)

    page.get_by_role("link", name="View my orders").click()
    row = page.locator(f'tr[data-order-id="{order.id}"]')
    expect(row).to_contain_text("Idempotent T-shirt")
    expect(row.locator(".order-quantity")).to_have_text("2")
    expect(row.locator(".order-amount")).to_have_text("$39.98")
    expect(row.locator(".order-status")).to_have_text("Paid")
    expect(row.locator(".order-date")).not_to_be_empty()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="My orders").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("Log in to see your orders.")).to_be_visible()


def test_a_declined_card_shows_stripes_message_and_another_card_pays_the_same_order(
    page, user, devstripe
):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, DECLINED)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")
    expect(pay_button(popup)).to_be_enabled()
    expect(popup.get_by_label("Card number")).to_have_value("")  # emptied for another card
    expect(popup.get_by_label("Card number")).to_be_focused()
    declined = Order.objects.get()
    assert declined.status == "FAILED"
    assert declined.failure_message == "Your card was declined."

    enter_card(popup, VISA)
    expect(popup.locator(".pay-error")).to_be_empty()
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    # Another card on the same order: it went from FAILED to PAID, through one
    # PaymentIntent, with two payment attempts under two Stripe idempotency keys.
    paid = Order.objects.get()
    assert (paid.id, paid.status, paid.failure_message) == (declined.id, "PAID", "")
    assert paid.stripe_payment_intent_id == declined.stripe_payment_intent_id
    first, second = paid.attempts.order_by("number")
    assert (first.status, second.status) == (
        PaymentAttempt.Status.FAILED,
        PaymentAttempt.Status.SUCCEEDED,
    )
    assert first.idempotency_key != second.idempotency_key
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{paid.id}/pay/",
    ]
    tokens = [json.loads(request.post_data)["confirmation_token"] for request in posted]
    assert tokens[0] != tokens[1]  # a ConfirmationToken per attempt
    assert len(succeeded_charges(devstripe)) == 1
    assert len(charges_at(devstripe)) == 2  # the declined one and the paid one

    page.get_by_role("link", name="View my orders").click()
    row = page.locator(f'tr[data-order-id="{paid.id}"]')
    expect(row.locator(".order-status")).to_have_text("Paid")
    expect(page.locator("tr.order-row")).to_have_count(1)


def test_card_details_stripe_js_refuses_never_reach_the_shop(page, user, devstripe):
    posted = orders_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Sticker Pack")
    wait_until_ready(popup)
    popup.get_by_label("Card number").fill("4242 4242 42")
    pay_button(popup).click()

    # elements.submit() refused it: the Element says why by the field, the pop-up where.
    expect(message_in_the_form(popup, "Your card number is incomplete.")).to_be_visible()
    expect(popup.locator(".pay-error")).to_have_text("Please check the payment details above.")
    expect(pay_button(popup)).to_be_enabled()
    assert posted == []
    assert confirmation_tokens_made(devstripe) == []
    assert Order.objects.count() == 0


def test_a_double_click_on_pay_makes_one_order_and_one_charge(page, user, devstripe):
    devstripe.configure(latency_ms=300)  # the payment is still in flight at the second click
    posted = orders_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, VISA)

    pay_button(popup).dblclick()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert len(posted) == 1  # one confirmation token posted
    assert "confirmation_token" in json.loads(posted[0].post_data)
    assert Order.objects.count() == 1
    assert len(confirmation_tokens_made(devstripe)) == 1
    assert len(intents_created(devstripe)) == 1
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

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert len(posted) == 2
    assert posted[0].headers["idempotency-key"] == posted[1].headers["idempotency-key"]
    # The same ConfirmationToken (made once), product and quantity.
    assert posted[0].post_data == posted[1].post_data
    assert len(confirmation_tokens_made(devstripe)) == 1
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

    popup = payment_popup(page)
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("Field Notebook")
    expect(popup.get_by_label("Card number")).to_be_focused()
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert Order.objects.get().product.name == "Field Notebook"
