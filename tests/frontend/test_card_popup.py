"""The payment pop-up itself: where its messages go, what it shows while paying, and
payment details that never outlive it."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.frontend.shopper import (
    ACCOUNT_PAYS,
    DECLINED,
    JUST_PAID,
    VISA,
    click_buy,
    close_popup,
    enter_bank_account,
    enter_card,
    log_in,
    message_in_the_form,
    pay_button,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


def card_number(popup):
    return popup.get_by_label("Card number")


def test_payment_details_are_gone_after_cancel_and_in_another_products_pop_up(
    page, user, devstripe
):
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

    enter_bank_account(popup, ACCOUNT_PAYS)  # a bank account, too, is gone after Cancel
    close_popup(popup)
    popup = click_buy(page, "Team Cap")
    wait_until_ready(popup)
    expect(popup.get_by_label("Account number")).to_have_value("")


def test_the_payment_elements_own_message_sits_by_its_field_and_the_shops_under_the_form(
    page, user, devstripe
):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    form_box = page.locator("#payment-element")

    # What was typed: the Payment Element says so itself, by the field, as Stripe's does.
    card_number(popup).fill("4242 4242")
    popup.get_by_label("Expiration date").click()  # leaving the number: it is incomplete
    expect(message_in_the_form(popup, "Your card number is incomplete.")).to_be_visible()
    expect(card_number(popup)).to_have_attribute("aria-invalid", "true")

    # What the shop or the bank said (here a decline): right under the form, announced,
    # in space kept for it, so nothing below it moves.
    enter_card(popup, DECLINED)
    pay = pay_button(popup)
    before = place_in_the_pop_up(popup, pay)
    pay.click()
    error = popup.locator(".pay-error")
    expect(error).to_have_text("Your card was declined.")
    form, message = form_box.bounding_box(), error.bounding_box()
    assert 0 <= message["y"] - (form["y"] + form["height"]) <= 12
    expect(error).to_have_attribute("aria-live", "assertive")
    assert place_in_the_pop_up(popup, pay) == before  # the space was kept: no jump


def place_in_the_pop_up(popup, locator):
    """Where `locator` sits in the pop-up's box (the same however the pop-up is scrolled)."""
    box, dialog = locator.bounding_box(), popup.locator(".modal-content").bounding_box()
    return (round(box["x"] - dialog["x"]), round(box["y"] - dialog["y"]))


def test_while_paying_the_button_says_so_and_the_details_cannot_change(page, user, devstripe):
    log_in(page, user.email)
    answers = []

    def hold_the_answer(route):
        answers.append(route)  # answered only once the test has looked

    page.route("**/api/order/", hold_the_answer)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, VISA)
    pay_button(popup).click()

    expect(popup.get_by_role("button", name="Paying…")).to_be_disabled()
    # The Payment Element is read-only meanwhile (Stripe's readOnly option).
    expect(card_number(popup)).not_to_be_editable()
    expect(popup.get_by_label("Security code")).not_to_be_editable()
    for _ in range(50):  # the held request reaches the handler in a moment
        if answers:
            break
        page.wait_for_timeout(100)
    assert len(answers) == 1
    expect(popup.get_by_role("button", name="Paying…")).to_be_disabled()  # still, meanwhile
    answers[0].continue_()
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    assert Order.objects.get().status == "PAID"


def test_after_a_decline_the_pop_up_suggests_another_card_or_method(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    enter_card(popup, DECLINED)
    pay_button(popup).click()

    expect(popup.locator(".pay-error")).to_have_text("Your card was declined.")
    expect(popup.locator(".pay-advice")).to_contain_text("Try another card or payment method")
    expect(card_number(popup)).to_have_value("")
    expect(card_number(popup)).to_be_editable()
    assert Order.objects.get().status == "FAILED"

    card_number(popup).fill(VISA)  # typing a card clears the message and its advice
    expect(popup.locator(".pay-advice")).to_be_empty()


def test_the_test_mode_hint_lists_the_cards_and_bank_accounts_of_the_readme(page, user, devstripe):
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")
    wait_until_ready(popup)
    hint = popup.locator(".test-cards")
    hint.get_by_text("Test mode: cards and bank accounts to try").click()  # it opens
    for number in (
        "4242 4242 4242 4242",
        "4000 0027 6000 3184",
        "4000 0000 0000 0002",
        "4000 0000 0000 9995",
        "110000000",
        "000123456789",
        "000222222227",
    ):
        expect(hint.get_by_text(number, exact=True)).to_be_visible()
