"""The card pop-up itself: where its messages go, what it shows while paying, and card
details that never outlive it."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.shopper import (
    DECLINED,
    JUST_PAID,
    VISA,
    click_buy,
    close_popup,
    enter_card,
    log_in,
    pay_button,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


def card_number(popup):
    return popup.get_by_label("Card number")


def test_card_details_are_gone_after_cancel_and_in_another_products_pop_up(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, VISA)
    close_popup(popup)

    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    expect(card_number(popup)).to_have_value("")
    expect(popup.get_by_label("Security code")).to_have_value("")
    card_number(popup).fill(VISA)
    close_popup(popup)

    popup = click_buy(page, "Team Cap")
    wait_until_ready(popup)
    expect(popup).to_contain_text("Team Cap")
    expect(card_number(popup)).to_have_value("")


def test_a_card_message_sits_under_the_card_field_outlines_it_and_moves_nothing(
    page, user, devstripe
):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    card_box = page.locator("#card-element")
    pay = pay_button(popup)
    before = pay.bounding_box()

    card_number(popup).fill("4242 4242")
    popup.get_by_label("Expiration date").click()  # leaving the number: it is incomplete
    error = popup.locator(".pay-error")
    expect(error).to_have_text("Your card number is incomplete.")

    # Right under the card field, announced, and the field outlined as invalid.
    field, message = card_box.bounding_box(), error.bounding_box()
    assert 0 <= message["y"] - (field["y"] + field["height"]) <= 12
    expect(error).to_have_attribute("aria-live", "assertive")
    expect(card_box).to_have_class(re.compile(r"\binvalid\b"))
    expect(card_box).to_have_attribute("aria-invalid", "true")
    assert pay.bounding_box()["y"] == before["y"]  # the space was kept: no jump


def test_while_paying_the_button_says_so_and_the_card_cannot_change(page, user, devstripe):
    log_in(page, user.email)
    answers = []

    def hold_the_answer(route):
        answers.append(route)  # answered only once the test has looked

    page.route("**/api/order/", hold_the_answer)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup.get_by_role("button", name="Paying…")).to_be_disabled()
    expect(card_number(popup)).to_be_disabled()
    expect(popup.get_by_label("Security code")).to_be_disabled()
    for _ in range(50):  # the held request reaches the handler in a moment
        if answers:
            break
        page.wait_for_timeout(100)
    assert len(answers) == 1
    expect(popup.get_by_role("button", name="Paying…")).to_be_disabled()  # still, meanwhile
    answers[0].continue_()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()


def test_after_a_decline_the_pop_up_suggests_another_card(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, DECLINED)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")
    expect(popup.locator(".pay-advice")).to_contain_text("Try another card")
    expect(card_number(popup)).to_have_value("")
    expect(card_number(popup)).to_be_enabled()
    assert Order.objects.get().status == "FAILED"

    card_number(popup).fill(VISA)  # typing a card clears the message and its advice
    expect(popup.locator(".pay-advice")).to_be_empty()


def test_the_test_card_hint_lists_the_four_cards_of_the_readme(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    hint = popup.locator(".test-cards")
    expect(hint).to_be_visible()
    for number in (
        "4242 4242 4242 4242",
        "4000 0027 6000 3184",
        "4000 0000 0000 0002",
        "4000 0000 0000 9995",
    ):
        expect(hint).to_contain_text(number)
