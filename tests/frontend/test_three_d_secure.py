"""Paying with a card whose bank asks for 3-D Secure, in a real browser.

The pop-up makes a ConfirmationToken with Stripe.js (the Payment Element), the shop
confirms the order's PaymentIntent with it and answers `requires_action`,
Stripe.js's handleNextAction shows the bank's step (devstripe's test page, in a frame)
and the page then asks the shop to confirm/: the shop settles from Stripe, never from
the browser's word. Each journey is checked in the database and at devstripe.
"""

import json

import pytest
from playwright.sync_api import expect

from orders.models import Order, PaymentAttempt, StripeEvent
from tests.frontend.shopper import (
    JUST_PAID,
    THREE_D_SECURE,
    VISA,
    bank_check,
    click_buy,
    complete_authentication,
    enter_card,
    fail_authentication,
    log_in,
    path_of,
    pay_button,
    payments_posted,
)
from tests.helpers import succeeded_charges

pytestmark = pytest.mark.browser

BANK_STEP = "Your bank asks you to confirm this payment"
# What the shop tells the shopper (orders.payments.SHOPPER_MESSAGES), not Stripe's API
# wording meant for developers.
FAILED_AUTHENTICATION = "We are unable to authenticate your payment method."
PAYMENT_SUCCEEDED = ("payment_intent.succeeded", "charge.succeeded")


def challenge(page):
    """The bank's step as Stripe.js opens it over the page."""
    return page.locator("#devstripe-3ds-frame")


def frames_opened(page):
    """Starts recording the names of frames the page opens; returns the growing list."""
    names = []
    page.on("frameattached", lambda frame: names.append(frame.name))
    return names


def test_a_card_without_a_challenge_pays_at_once_without_the_banks_step(page, user, devstripe):
    posted = payments_posted(page)
    frames = frames_opened(page)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    order = Order.objects.get()
    assert order.status == "PAID"
    assert [path_of(request) for request in posted] == ["/api/order/"]
    assert posted[0].response().status == 201
    assert "devstripe-3ds-frame" not in frames  # no bank step was shown
    [attempt] = order.attempts.all()
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert len(succeeded_charges(devstripe)) == 1


def test_a_3d_secure_card_shows_the_banks_step_and_completing_it_pays(page, user, devstripe):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()

    expect(challenge(page)).to_be_visible()
    expect(bank_check(page).get_by_role("heading")).to_have_text(
        "devstripe — test 3-D Secure page (not your bank)"
    )
    expect(popup.locator(".pay-status")).to_contain_text(BANK_STEP)
    expect(pay_button(popup)).to_be_disabled()  # nothing else to press meanwhile
    order = Order.objects.get()
    assert order.status == "PENDING"  # the shop waits for the bank
    assert order.attempts.get().status == PaymentAttempt.Status.REQUIRES_ACTION
    placed = posted[0].response()
    assert placed.status == 202 and placed.json()["requires_action"] is True

    complete_authentication(page)

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    expect(challenge(page)).to_have_count(0)
    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{order.id}/confirm/",
    ]
    assert posted[1].response().status == 200
    [charge] = succeeded_charges(devstripe)
    assert charge["payment_intent"] == order.stripe_payment_intent_id
    assert charge["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"

    page.get_by_role("link", name="View my orders").click()
    row = page.locator(f'tr[data-order-id="{order.id}"]')
    expect(row.locator(".order-status")).to_have_text("Paid")


def test_the_banks_step_can_be_completed_with_the_keyboard_alone(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Idempotent T-shirt")
    expect(popup.get_by_label("Card number")).to_be_focused()  # the pop-up is open
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).press("Enter")
    expect(challenge(page)).to_be_visible()
    complete = bank_check(page).get_by_role("button", name="Complete authentication")

    # The pop-up's focus trap lets the focus into the bank's frame, over the pop-up.
    expect(challenge(page)).to_be_focused()
    page.keyboard.press("Tab")
    expect(complete).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_focused()
    assert Order.objects.get().status == "PAID"


def test_a_failed_authentication_shows_why_and_another_card_pays_the_same_order(
    page, user, devstripe
):
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Field Notebook")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    expect(challenge(page)).to_be_visible()

    fail_authentication(page)

    expect(popup.locator(".pay-error")).to_contain_text(FAILED_AUTHENTICATION)
    expect(popup.locator(".pay-status")).to_be_empty()
    expect(popup.get_by_label("Card number")).to_have_value("")  # ready for another card
    expect(popup.get_by_label("Card number")).to_be_focused()
    failed = Order.objects.get()
    assert failed.status == "FAILED"
    assert failed.failure_code == "payment_intent_authentication_failure"
    assert failed.failure_message.startswith(FAILED_AUTHENTICATION)
    assert posted[-1].response().status == 402  # confirm/ said so, from Stripe

    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    paid = Order.objects.get()  # still one order
    assert (paid.id, paid.status) == (failed.id, "PAID")
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{paid.id}/confirm/",
        f"/api/order/{paid.id}/pay/",
    ]
    first, second = paid.attempts.order_by("number")
    assert (first.status, second.status) == (
        PaymentAttempt.Status.FAILED,
        PaymentAttempt.Status.SUCCEEDED,
    )
    assert first.idempotency_key != second.idempotency_key
    # Both went to the order's one PaymentIntent, each under its attempt's key.
    intent = paid.stripe_payment_intent_id
    [created] = devstripe.requests(path="/v1/payment_intents", method="POST")
    confirmed = devstripe.requests(path=f"/v1/payment_intents/{intent}/confirm", method="POST")
    assert created["idempotency_key"] == paid.payment_intent_key
    assert [c["idempotency_key"] for c in confirmed] == [
        first.idempotency_key,
        second.idempotency_key,
    ]
    tokens = [json.loads(posted[i].post_data)["confirmation_token"] for i in (0, 2)]
    assert tokens[0] != tokens[1]
    assert [c["params"]["confirmation_token"] for c in confirmed] == tokens
    [charge] = succeeded_charges(devstripe)
    assert charge["payment_intent"] == intent


def test_an_interrupted_banks_step_opens_again_with_pay(page, user, devstripe):
    posted = payments_posted(page)
    lost = []

    def lose_stripe_js_first_look_at_the_intent(route):
        if not lost:
            lost.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    # Stripe.js's handleNextAction first reads the PaymentIntent; that read is lost.
    page.route(f"{devstripe.url}/v1/payment_intents/**", lose_stripe_js_first_look_at_the_intent)
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()

    expect(popup.locator(".pay-status")).to_contain_text(
        "Your bank is still waiting for you to confirm this payment."
    )
    expect(pay_button(popup)).to_be_enabled()
    order = Order.objects.get()
    assert order.status == "PENDING"
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{order.id}/confirm/",
    ]
    assert posted[1].response().status == 202

    pay_button(popup).click()  # the same attempt: the bank's step again, no new order
    expect(challenge(page)).to_be_visible()
    complete_authentication(page)

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert len(lost) == 1
    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.attempts.count() == 1
    assert [path_of(request) for request in posted][2:] == [f"/api/order/{order.id}/confirm/"]
    assert len(succeeded_charges(devstripe)) == 1


def test_pay_again_after_confirm_got_no_answer_asks_the_shop_again_without_a_new_step(
    page, user, devstripe
):
    posted = payments_posted(page)
    lost = []

    def lose_the_first_confirm(route):
        if not lost:
            lost.append(route.request.url)
            route.abort("connectionreset")  # it never reaches the shop
        else:
            route.continue_()

    page.route("**/confirm/", lose_the_first_confirm)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    expect(challenge(page)).to_be_visible()
    complete_authentication(page)

    expect(popup.locator(".pay-error")).to_contain_text(
        "Pressing Pay again retries the same payment."
    )
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    order = Order.objects.get()
    assert order.status == "PAID"
    assert order.attempts.count() == 1
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{order.id}/confirm/",
        f"/api/order/{order.id}/confirm/",
    ]
    assert len(lost) == 1
    assert len(succeeded_charges(devstripe)) == 1


def test_the_webhook_settles_an_order_whose_page_closed_right_after_the_banks_step(
    page, user, devstripe, webhooks_to, shop
):
    webhooks_to(shop)
    blocked = []

    def never_reach_the_shop(route):
        blocked.append(route.request.url)
        route.abort("connectionreset")

    page.route("**/confirm/", never_reach_the_shop)
    log_in(page, user.email)
    popup = click_buy(page, "Sticker Pack")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    expect(challenge(page)).to_be_visible()
    order = Order.objects.get()
    assert order.status == "PENDING"

    with page.expect_event("requestfailed", lambda request: request.url.endswith("/confirm/")):
        complete_authentication(page)
    page.close()  # the shopper is gone before the page could tell the shop

    def paid_through_a_webhook():
        settled = Order.objects.filter(
            pk=order.pk, status="PAID", attempts__status=PaymentAttempt.Status.SUCCEEDED
        )
        if not settled.exists():
            return []
        return [d for d in devstripe.webhooks() if d["ok"] and d["type"] in PAYMENT_SUCCEEDED]

    # Stripe sends both events, in either order: one pays the order, and
    # payment_intent.succeeded also marks the attempt that was waiting for the bank.
    delivered = devstripe.wait_for(paid_through_a_webhook, timeout=10)
    assert delivered, "the order was not paid through a webhook within 10 s"
    assert blocked  # the page did try confirm/, and it never got through
    assert {d["url"] for d in delivered} == {f"{shop}/api/stripe/webhook/"}
    processed = StripeEvent.objects.filter(event_id__in=[d["event_id"] for d in delivered])
    assert processed and {event.order_id for event in processed} == {order.id}
    # The shop never looked the PaymentIntent up itself (confirm/ would have, with its
    # secret key); Stripe.js's own look-ups use the publishable key.
    intent = Order.objects.get().stripe_payment_intent_id
    lookups = devstripe.requests(path=f"/v1/payment_intents/{intent}", method="GET")
    assert lookups and {lookup["key_kind"] for lookup in lookups} == {"publishable"}
