"""Second attempts in a real browser: a payment whose outcome is unknown, and a failed
order paid later.

An outcome nobody knows yet (Stripe unreachable, an answer lost on the way back) puts
the shopper on the order's page, "Payment pending — confirming with Stripe", which asks
the shop until Stripe has decided and offers nothing that could pay twice. A failed
order keeps a "Pay now" (on its page and in My orders) that pays that same order.
Each journey is checked where it ends: in the database and at devstripe.
"""

import json
import re
import urllib.request
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from orders.models import Order
from tests.frontend.conftest import DESKTOP, PHONE
from tests.frontend.shopper import (
    DECLINED,
    JUST_PAID,
    PAYMENT_PENDING,
    THREE_D_SECURE,
    VISA,
    bank_check,
    click_buy,
    close_popup,
    complete_authentication,
    enter_card,
    log_in,
    path_of,
    pay_button,
    pay_now,
    payments_posted,
    wait_until_true,
)
from tests.helpers import payment_intents_at, succeeded_charges

pytestmark = pytest.mark.browser

DECLINED_MESSAGE = "Your card was declined."


def succeeded_intents(devstripe):
    return [intent for intent in payment_intents_at(devstripe) if intent["status"] == "succeeded"]


def stripe_comes_back(devstripe):
    """The outage ends: devstripe drops the faults still queued (its control route)."""
    request = urllib.request.Request(f"{devstripe.url}/_devstripe/faults", method="DELETE")  # noqa: S310
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert json.loads(response.read())["data"] == []


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def fits_a_phone(page):
    """The page as it is fits a phone's width (then back to desktop size)."""
    page.set_viewport_size(PHONE)
    # Once the page has laid itself out again for the new width (a resize can take a
    # frame or two); a page that overflows stays so, and the wait fails.
    wait_until_true(page, "document.documentElement.scrollWidth <= window.innerWidth")
    assert fits_the_screen(page)
    page.set_viewport_size(DESKTOP)


def buy_with_a_declined_card(page, product_name, quantity="1"):
    """Buy, pay with a card that is declined, and close the pop-up: a FAILED order."""
    popup = click_buy(page, product_name)
    popup.get_by_label("Quantity").select_option(quantity)
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).to_have_text(DECLINED_MESSAGE)
    close_popup(popup)
    failed = Order.objects.get()
    assert (failed.status, failed.failure_message) == ("FAILED", DECLINED_MESSAGE)
    return failed


def test_an_outage_then_pay_makes_one_order_and_one_charge(page, user, devstripe):
    devstripe.add_fault(path="/v1/payment_intents", method="POST", mode="error_500", times=20)
    posted = payments_posted(page)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, VISA)
    pay_button(popup).click()

    # Not a failure: the order's own page, waiting for Stripe, with nothing to pay again.
    expect(page.get_by_role("heading", name=PAYMENT_PENDING)).to_be_visible(timeout=30_000)
    expect(popup).to_be_hidden()
    order = Order.objects.get()
    assert order.status == "PENDING"
    assert page.url.endswith(f"#/orders/{order.id}")
    main = page.get_by_role("main")
    expect(main).to_contain_text("there is no need to pay again")
    expect(main.get_by_role("button")).to_have_count(0)  # no Pay, no Buy
    expect(page.get_by_text("Checking with Stripe")).to_be_visible()
    fits_a_phone(page)

    stripe_comes_back(devstripe)

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=30_000)
    expect(main).to_contain_text(f"#{order.id}")
    order.refresh_from_db()
    assert order.status == "PAID"
    assert Order.objects.count() == 1
    placed = [request for request in posted if path_of(request) == "/api/order/"]
    assert len(placed) == 1
    assert {path_of(request) for request in posted[1:]} == {f"/api/order/{order.id}/confirm/"}
    [intent] = succeeded_intents(devstripe)
    assert intent["metadata"]["order_id"] == str(order.id)
    [charge] = succeeded_charges(devstripe)
    assert charge["payment_intent"] == intent["id"]


def test_the_pending_page_stops_asking_after_a_few_minutes_and_says_the_shop_will_settle(
    page, user, devstripe
):
    devstripe.add_fault(path="/v1/payment_intents", method="POST", mode="error_500", times=1000)
    posted = payments_posted(page)
    page.clock.install()  # the page's timers and clock, fast-forwarded below
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, VISA)
    pay_button(popup).click()
    expect(page.get_by_role("heading", name=PAYMENT_PENDING)).to_be_visible(timeout=30_000)

    gave_up = page.get_by_text("reload this page in a few minutes").first
    for _ in range(20):
        with page.expect_response("**/confirm/"):
            page.clock.run_for(30_000)  # the next confirm/ is due within 30 s
        page.wait_for_timeout(200)  # the page reads the answer
        if gave_up.is_visible():
            break

    expect(gave_up).to_be_visible()
    expect(page.get_by_role("heading", name="Payment pending", exact=True)).to_be_visible()
    expect(page.get_by_text("Checking with Stripe")).to_be_hidden()
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)
    confirms = [request for request in posted if request.url.endswith("/confirm/")]
    assert 5 <= len(confirms) <= 15  # at growing intervals, for about three minutes
    page.clock.run_for(10 * 60_000)
    page.wait_for_timeout(500)
    assert len([request for request in posted if request.url.endswith("/confirm/")]) == len(
        confirms
    )  # and then no more
    assert Order.objects.get().status == "PENDING"  # left to the shop's reconciliation


def test_a_payment_left_waiting_for_the_bank_is_confirmed_from_the_orders_page(
    page, user, devstripe
):
    log_in(page, user.email)
    popup = click_buy(page, "Field Notebook")
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    expect(bank_check(page).get_by_role("button", name="Complete authentication")).to_be_visible()
    order = Order.objects.get()
    page.reload()  # the shopper left before the bank's step

    page.goto(f"/#/orders/{order.id}")
    expect(
        page.get_by_role("heading", name="Payment pending — your bank is waiting for you")
    ).to_be_visible()
    expect(page.get_by_role("main").get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)
    page.get_by_role("button", name="Confirm with your bank").click()
    complete_authentication(page)

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=15_000)
    order.refresh_from_db()
    assert order.status == "PAID"
    assert Order.objects.count() == 1
    [charge] = succeeded_charges(devstripe)
    assert charge["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"


def test_a_failed_order_is_paid_later_from_my_orders_as_the_same_order(page, user, devstripe):
    posted = payments_posted(page)
    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Team Cap", quantity="2")

    page.reload()
    page.get_by_role("link", name="My orders").click()
    row = page.locator(f'tr[data-order-id="{failed.id}"]')
    expect(row.locator(".order-status")).to_have_text("Failed")
    expect(row).to_contain_text(DECLINED_MESSAGE)
    expect(row.get_by_role("button", name=f"Pay order {failed.id} again")).to_have_text("Pay now")
    fits_a_phone(page)

    popup = pay_now(page, failed.id)
    expect(popup).to_contain_text("Team Cap")
    expect(popup).to_contain_text(f"Order #{failed.id}")
    expect(popup.get_by_label("Quantity")).to_have_value("2")
    expect(popup.get_by_label("Quantity")).to_be_disabled()  # the same order: no other quantity
    expect(popup.get_by_test_id("buy-total")).to_have_text("$34.00")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert page.url.endswith(f"#/orders/{failed.id}")
    paid = Order.objects.get()  # still one order
    assert (paid.id, paid.status, paid.amount) == (failed.id, "PAID", 3400)
    assert [path_of(request) for request in posted] == [
        "/api/order/",
        f"/api/order/{paid.id}/pay/",
    ]
    keys = [request.headers.get("idempotency-key") for request in posted]
    assert all(keys) and keys[0] != keys[1]  # a fresh key per attempt
    [intent] = succeeded_intents(devstripe)  # the order's one PaymentIntent
    assert intent["metadata"]["order_id"] == str(paid.id)
    [charge] = succeeded_charges(devstripe)
    assert (charge["payment_intent"], charge["amount"]) == (intent["id"], 3400)

    page.get_by_role("link", name="View my orders").click()
    expect(row.locator(".order-status")).to_have_text("Paid")
    expect(page.get_by_role("button", name=re.compile(r"^Pay order"))).to_have_count(0)


def test_a_failed_order_is_paid_later_from_its_own_page(page, user, devstripe):
    posted = payments_posted(page)
    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Canvas Tote")

    page.goto(f"/#/orders/{failed.id}")
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    main = page.get_by_role("main")
    expect(main).to_contain_text(DECLINED_MESSAGE)
    fits_a_phone(page)
    popup = pay_now(page, failed.id)
    expect(popup.get_by_label("Quantity")).to_be_disabled()
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    expect(main.get_by_role("button")).to_have_count(0)
    paid = Order.objects.get()
    assert (paid.id, paid.status) == (failed.id, "PAID")
    assert [path_of(request) for request in posted][1:] == [f"/api/order/{paid.id}/pay/"]
    assert len(succeeded_charges(devstripe)) == 1


def test_a_failed_order_whose_price_changed_asks_for_a_new_order_and_charges_nothing(
    page, user, devstripe
):
    posted = payments_posted(page)
    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Canvas Tote")
    page.goto(f"/#/orders/{failed.id}")
    popup = pay_now(page, failed.id)
    Product.objects.filter(pk=failed.product_id).update(price=Decimal("15.00"))  # meanwhile
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_contain_text("please place a new order")
    expect(pay_button(popup)).to_be_disabled()  # this order takes no payment any more
    assert posted[-1].response().status == 409
    assert Order.objects.get().status == "FAILED"  # the same one order, untouched
    assert succeeded_charges(devstripe) == []

    close_popup(popup)
    page.reload()
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)  # can_pay is false


def test_a_failed_order_paid_later_with_a_3d_secure_card_goes_through_the_banks_step(
    page, user, devstripe
):
    posted = payments_posted(page)
    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Field Notebook")

    page.goto(f"/#/orders/{failed.id}")
    popup = pay_now(page, failed.id)
    enter_card(popup, THREE_D_SECURE)
    pay_button(popup).click()
    complete_authentication(page)

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    paid = Order.objects.get()
    assert (paid.id, paid.status) == (failed.id, "PAID")
    assert [path_of(request) for request in posted][1:] == [
        f"/api/order/{paid.id}/pay/",
        f"/api/order/{paid.id}/confirm/",
    ]
    assert posted[1].response().json()["requires_action"] is True
    [charge] = succeeded_charges(devstripe)
    assert charge["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"


def test_an_answer_lost_after_paying_a_failed_order_shows_pending_then_paid(page, user, devstripe):
    posted = payments_posted(page)
    lost = []

    def lose_the_answer(route):
        route.fetch()  # the shop takes the payment...
        lost.append(route.request.url)
        route.abort("connectionreset")  # ...and its answer never comes back

    log_in(page, user.email)
    failed = buy_with_a_declined_card(page, "Sticker Pack")
    page.route("**/pay/", lose_the_answer)
    page.goto(f"/#/orders/{failed.id}")
    popup = pay_now(page, failed.id)
    enter_card(popup, VISA)
    pay_button(popup).click()

    # The page cannot know how it went: it shows the order as the shop has it, paid.
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible(timeout=15_000)
    assert page.url.endswith(f"#/orders/{failed.id}")
    assert len(lost) == 1
    paid = Order.objects.get()
    assert (paid.id, paid.status) == (failed.id, "PAID")
    assert [path_of(request) for request in posted][:2] == [
        "/api/order/",
        f"/api/order/{paid.id}/pay/",
    ]
    assert len(succeeded_charges(devstripe)) == 1


def test_pay_again_after_the_answer_to_a_new_order_was_lost_replays_it(page, user, devstripe):
    posted = payments_posted(page)
    lost = []

    def lose_the_first_answer(route):
        if route.request.method == "POST" and not lost:
            route.fetch()  # the shop places and pays the order...
            lost.append(route.request.url)
            route.abort("connectionreset")  # ...and the page never hears of it
        else:
            route.continue_()

    page.route("**/api/order/", lose_the_first_answer)
    log_in(page, user.email)
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, VISA)
    pay_button(popup).click()

    # No order known to the page: the same attempt stays, and the pop-up says so.
    expect(popup.locator(".pay-error")).to_contain_text(
        "Pressing Pay again retries the same payment."
    )
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert len(posted) == 2
    assert posted[0].headers["idempotency-key"] == posted[1].headers["idempotency-key"]
    assert posted[0].post_data == posted[1].post_data
    assert posted[1].response().headers.get("idempotent-replayed") == "true"
    assert Order.objects.get().status == "PAID"  # one order
    assert len(succeeded_charges(devstripe)) == 1


def test_too_many_payment_attempts_keeps_the_attempt_for_after_the_wait(page, user, devstripe):
    posted = payments_posted(page)
    throttled = []
    sentence = "Too many payment attempts. Please wait a moment before trying again."

    def throttle_the_first_payment(route):
        if route.request.method == "POST" and not throttled:
            throttled.append(route.request.url)
            route.fulfill(
                status=429,
                headers={"Retry-After": "2"},
                json={"success": False, "error": sentence, "detail": sentence},
            )
        else:
            route.continue_()

    page.route("**/api/order/", throttle_the_first_payment)
    log_in(page, user.email)
    popup = click_buy(page, "Team Cap")
    enter_card(popup, VISA)
    pay_button(popup).click()

    # Not a failure: the shop's sentence, the card kept, Pay back after Retry-After.
    expect(popup.locator(".pay-status")).to_have_text(sentence)
    expect(popup.locator(".pay-error")).to_be_empty()
    expect(popup.get_by_label("Card number")).not_to_have_value("")
    expect(pay_button(popup)).to_be_disabled()
    expect(pay_button(popup)).to_be_enabled(timeout=5_000)
    assert Order.objects.count() == 0
    pay_button(popup).click()

    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert len(posted) == 2
    assert posted[0].headers["idempotency-key"] == posted[1].headers["idempotency-key"]
    assert posted[0].post_data == posted[1].post_data
    assert Order.objects.get().status == "PAID"
    assert len(succeeded_charges(devstripe)) == 1
