"""The Payment Element's other payment methods, in a real browser: one that leaves the
shop for a page of its own and comes back (devstripe's test redirect page, standing in
for Amazon Pay or a bank), and one that Stripe processes for a while and settles later
by webhook (a US bank account debit). Also: the amount the Element is told follows the
quantity, and the address a payment page sends the shopper back to is never trusted.

Each journey is checked where it ends: in the database and at devstripe.
"""

import json

import pytest
from playwright.sync_api import expect

from orders.models import Order, PaymentAttempt, StripeEvent
from tests.frontend.shopper import (
    ACCOUNT_FAILS,
    ACCOUNT_PAYS,
    DECLINED,
    JUST_PAID,
    PROCESSING,
    REDIRECT_METHOD,
    VISA,
    choose_payment_method,
    click_buy,
    enter_bank_account,
    enter_card,
    log_in,
    path_of,
    pay_button,
    pay_now,
    payments_posted,
    redirect_page_button,
    wait_until_ready,
)
from tests.helpers import charges_at, payment_intents_at, succeeded_charges

pytestmark = pytest.mark.browser

REDIRECT_PAGE = "devstripe — test redirect page (not Amazon Pay, not your bank)"
INSUFFICIENT_FUNDS = "insufficient funds"


def confirmations_at(devstripe, order):
    return devstripe.requests(
        path=f"/v1/payment_intents/{order.stripe_payment_intent_id}/confirm", method="POST"
    )


def events_handled_for(order, event_type):
    return StripeEvent.objects.filter(order=order, type=event_type)


def test_the_redirect_method_leaves_for_its_page_and_comes_back_to_the_order_paid(
    page, user, devstripe, shop
):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    choose_payment_method(popup, REDIRECT_METHOD)
    pay_button(popup).click()

    # The shopper is on the payment method's own page (here devstripe's), away from the shop.
    expect(page.get_by_role("heading", name=REDIRECT_PAGE)).to_be_visible()
    assert page.url.startswith(f"{devstripe.url}/redirect/")
    order = Order.objects.get()
    assert order.status == "PENDING"
    assert order.attempts.get().status == PaymentAttempt.Status.REQUIRES_ACTION

    redirect_page_button(page, "Authorize test payment").click()

    # Back at the shop: the order's page, which asked the shop how it ended.
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=15_000)
    assert page.url == f"{shop}/#/orders/{order.id}"  # Stripe's query is not kept
    order.refresh_from_db()
    assert order.status == "PAID"
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{order.id}/confirm/",
    ]
    assert posted[1].response().status == 200
    [confirmed] = confirmations_at(devstripe, order)
    assert confirmed["params"]["return_url"] == f"{shop}/?order={order.id}"
    [charge] = succeeded_charges(devstripe)
    assert (charge["payment_intent"], charge["amount"]) == (order.stripe_payment_intent_id, 1250)
    assert charge["payment_method_details"]["type"] == "amazon_pay"


def test_the_redirect_pages_fail_button_fails_the_order_with_a_reason_and_a_card_pays_it_later(
    page, user, devstripe, shop
):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    choose_payment_method(popup, REDIRECT_METHOD)
    pay_button(popup).click()
    redirect_page_button(page, "Fail test payment").click()

    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible(timeout=15_000)
    failed = Order.objects.get()
    assert page.url == f"{shop}/#/orders/{failed.id}"
    assert failed.status == "FAILED" and failed.failure_message
    main = page.get_by_role("main")
    expect(main).to_contain_text(failed.failure_message)  # the reason, as the shop has it
    assert posted[-1].response().status == 402  # confirm/ said so, from Stripe

    popup = pay_now(page, failed.id)
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    paid = Order.objects.get()  # still one order, and one PaymentIntent
    assert (paid.id, paid.status) == (failed.id, "PAID")
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{paid.id}/confirm/",
        f"/api/order/{paid.id}/pay/",
    ]
    [intent] = payment_intents_at(devstripe)
    assert (intent["id"], intent["status"]) == (paid.stripe_payment_intent_id, "succeeded")
    first, second = paid.attempts.order_by("number")
    assert (first.status, second.status) == (
        PaymentAttempt.Status.FAILED,
        PaymentAttempt.Status.SUCCEEDED,
    )


def test_a_declined_card_then_a_bank_debit_pays_the_same_order_by_webhook_while_its_page_is_open(
    page, user, devstripe, webhooks_to, shop, bank_debits_settle_after
):
    webhooks_to(shop)
    bank_debits_settle_after(120_000)  # the test settles it below, once it has looked
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Field Notebook")
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")

    enter_bank_account(popup, ACCOUNT_PAYS)
    pay_button(popup).click()

    # Not paid yet, not failed: the order's page says the bank is processing it.
    expect(page.get_by_role("heading", name=PROCESSING)).to_be_visible()
    order = Order.objects.get()
    assert page.url.endswith(f"#/orders/{order.id}")
    assert order.payment_processing() and order.status != "PAID"
    answer = posted[-1].response()
    assert answer.status == 202 and answer.json()["order"]["payment_processing"] is True
    main = page.get_by_role("main")
    expect(main.locator(".order-status")).to_have_text("Processing")
    expect(main).to_contain_text("There is no need to pay again")
    expect(main.get_by_role("button")).to_have_count(0)  # nothing that could pay twice

    devstripe.settle(order.stripe_payment_intent_id)  # the bank debit goes through

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=20_000)
    order.refresh_from_db()
    assert order.status == "PAID"
    # The webhook settled it: the page only read the order, it never asked confirm/.
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{order.id}/pay/",
    ]
    assert events_handled_for(order, "payment_intent.succeeded").exists()
    # One order, one PaymentIntent, two attempts: the declined card, then the bank debit.
    [intent] = payment_intents_at(devstripe)
    assert (intent["id"], intent["status"]) == (order.stripe_payment_intent_id, "succeeded")
    first, second = order.attempts.order_by("number")
    assert (first.status, second.status) == (
        PaymentAttempt.Status.FAILED,
        PaymentAttempt.Status.SUCCEEDED,
    )
    tokens = [json.loads(request.post_data)["confirmation_token"] for request in posted]
    assert [c["params"]["confirmation_token"] for c in confirmations_at(devstripe, order)] == tokens
    [paid] = succeeded_charges(devstripe)
    assert paid["payment_method_details"]["type"] == "us_bank_account"
    assert len(charges_at(devstripe)) == 2


def test_a_bank_debit_that_fails_later_shows_processing_then_failed_with_its_reason(
    page, user, devstripe, webhooks_to, shop, bank_debits_settle_after
):
    webhooks_to(shop)
    bank_debits_settle_after(2_500)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_bank_account(popup, ACCOUNT_FAILS)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=PROCESSING)).to_be_visible()
    order = Order.objects.get()
    assert order.status == "PENDING"

    # devstripe settles it by itself a moment later; its webhook fails the order.
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible(timeout=20_000)
    main = page.get_by_role("main")
    expect(main).to_contain_text(INSUFFICIENT_FUNDS)
    order.refresh_from_db()
    assert order.status == "FAILED" and INSUFFICIENT_FUNDS in order.failure_message
    assert events_handled_for(order, "payment_intent.payment_failed").exists()

    # The order can still be paid, the same one, with another method.
    popup = pay_now(page, order.id)
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert Order.objects.get().status == "PAID"
    assert len(payment_intents_at(devstripe)) == 1


def test_the_amount_the_form_is_told_follows_the_quantity_and_the_order_is_charged_for_it(
    page, user, devstripe
):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    # devstripe's Payment Element names the amount on its redirect method's panel: what
    # the page told it with stripe.elements({amount}) and elements.update({amount}).
    choose_payment_method(popup, REDIRECT_METHOD)
    told = popup.locator("#payment-element").get_by_text("the payment of")
    expect(told).to_contain_text("$14.25")

    popup.get_by_label("Quantity").select_option("3")

    expect(told).to_contain_text("$42.75")
    expect(popup.get_by_test_id("buy-total")).to_have_text("$42.75")
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    order = Order.objects.get()
    assert (order.quantity, order.amount, order.status) == (3, 4275, "PAID")
    [intent] = payment_intents_at(devstripe)
    assert intent["amount"] == 4275


def test_the_address_a_payment_page_sends_back_is_never_trusted_nor_kept(
    page, user, devstripe, shop
):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Sticker Pack")
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")
    failed = Order.objects.get()

    # An address that says the payment succeeded: the page asks the shop, which knows better.
    page.goto(
        f"/?order={failed.id}&payment_intent={failed.stripe_payment_intent_id}"
        "&payment_intent_client_secret=pi_forged_secret_x&redirect_status=succeeded"
    )

    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible(timeout=15_000)
    assert page.url == f"{shop}/#/orders/{failed.id}"
    assert path_of(posted[-1]) == f"/api/order/{failed.id}/confirm/"
    assert Order.objects.get().status == "FAILED"
    assert succeeded_charges(devstripe) == []
