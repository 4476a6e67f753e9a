"""Payments Stripe processes and settles later (a US bank account debit, issue 14).

The order answers 202 and stays PENDING with `payment_processing`; the webhook settles
it PAID, or FAILED with the bank's reason; nothing fails it meanwhile (reconcile, pay/),
and its receipt, with no card, still goes out.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import receipts
from orders.models import Order, PaymentAttempt
from orders.recovery import reconcile_order
from tests.helpers import payment_intents_at
from tests.orders.attempt_helpers import (
    MUG_PRICE,
    confirm,
    deliver_events,
    events_about,
    money_held_for,
    order_in,
    place,
    reconcile,
)
from tests.orders.confirmation_token_helpers import (
    ACCOUNT_INSUFFICIENT_FUNDS,
    INSUFFICIENT_FUNDS,
    bank_account_token,
    card_token,
    pay_with_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


@pytest.fixture
def bank(devstripe, webhook_secret):
    """devstripe keeps bank debits processing until the test settles them."""
    devstripe.configure(processing_delay_ms=3_600_000)
    yield devstripe
    devstripe.configure(processing_delay_ms=None)


def processing_order(client, product, devstripe, account_number=None):
    token = (
        bank_account_token(devstripe, account_number)
        if account_number
        else bank_account_token(devstripe)
    )
    response = place(client, product, confirmation_token=token)
    assert response.status_code == 202, response.json()
    return response


def settle_by_webhook(api, devstripe, order):
    """Stripe settles the debit and sends its events; the shop hears them."""
    devstripe.settle(order.stripe_payment_intent_id)
    answers = deliver_events(api, events_about(devstripe, order.stripe_payment_intent_id))
    assert all(answer.status_code == 200 for answer in answers)
    order.refresh_from_db()


def test_a_bank_debit_answers_202_processing_and_the_webhook_pays_it(api, shopper_api, mug, bank):
    response = processing_order(shopper_api, mug, bank)

    body = response.json()
    assert body["success"] is True
    assert "requires_action" not in body and "client_secret" not in body
    assert body["order"]["status"] == "PENDING"
    assert body["order"]["payment_processing"] is True
    assert body["order"]["payment_pending"] is True
    assert body["order"]["can_pay"] is False
    order = order_in(response)
    assert order.attempts.get().status == PaymentAttempt.Status.PROCESSING
    [intent] = payment_intents_at(bank, order)
    assert intent["status"] == "processing"
    # confirm/ and the order's own page say the same while Stripe processes it.
    assert confirm(shopper_api, order.id).status_code == 202
    again = shopper_api.get(f"/api/order/{order.id}/")
    assert again.json()["payment_processing"] is True
    assert again.json()["status"] == "PENDING"

    settle_by_webhook(api, bank, order)

    assert order.status == "PAID"
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    assert money_held_for(bank, order) == order.amount
    paid = shopper_api.get(f"/api/order/{order.id}/").json()
    assert (paid["status"], paid["payment_processing"], paid["payment_pending"]) == (
        "PAID",
        False,
        False,
    )


def test_a_bank_debit_that_fails_later_fails_the_order_with_the_banks_reason(
    api, shopper_api, mug, bank
):
    order = order_in(processing_order(shopper_api, mug, bank, ACCOUNT_INSUFFICIENT_FUNDS))

    settle_by_webhook(api, bank, order)

    assert order.status == "FAILED"
    assert order.failure_message == INSUFFICIENT_FUNDS
    assert order.failure_code == "insufficient_funds"
    assert order.attempts.get().status == PaymentAttempt.Status.FAILED
    failed = shopper_api.get(f"/api/order/{order.id}/").json()
    assert failed["failure_message"] == INSUFFICIENT_FUNDS
    assert (failed["can_pay"], failed["payment_processing"]) == (True, False)
    assert money_held_for(bank, order) == 0

    # Another way to pay, on the same order and PaymentIntent.
    again = pay_with_token(shopper_api, order.id, card_token(bank))

    assert again.status_code == 200, again.json()
    assert len(payment_intents_at(bank, order)) == 1
    assert money_held_for(bank, order) == order.amount


def test_reconcile_never_fails_a_pending_order_whose_payment_is_processing(shopper_api, mug, bank):
    order = order_in(processing_order(shopper_api, mug, bank))
    # Older than Stripe's key lifetime: an order with nothing open would be failed now.
    long_ago = timezone.now() - timedelta(days=3)
    Order.objects.filter(pk=order.pk).update(updated=long_ago, created=long_ago)
    PaymentAttempt.objects.filter(order=order).update(updated=long_ago, created=long_ago)

    reconcile()
    assert reconcile_order(order=Order.objects.get(pk=order.pk)) == "PENDING"

    order.refresh_from_db()
    assert order.status == "PENDING"
    assert order.attempts.get().status == PaymentAttempt.Status.PROCESSING
    assert payment_intents_at(bank, order)[0]["status"] == "processing"


def test_reconcile_pays_a_processing_order_whose_webhook_never_came(shopper_api, mug, bank):
    order = order_in(processing_order(shopper_api, mug, bank))
    bank.settle(order.stripe_payment_intent_id)  # its events are never delivered

    reconcile()

    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED


def test_an_order_being_processed_takes_no_other_payment(shopper_api, mug, bank):
    order = order_in(processing_order(shopper_api, mug, bank))
    stripe_calls = len(bank.requests(method="POST"))

    response = pay_with_token(shopper_api, order.id, card_token(bank))

    assert response.status_code == 409, response.json()
    assert "processed" in response.json()["error"]
    assert response.json()["order"]["payment_processing"] is True
    assert order.attempts.count() == 1
    # Only the test's own token creation reached Stripe.
    assert len(bank.requests(method="POST")) == stripe_calls + 1


def test_the_receipt_of_a_bank_debit_names_no_card_and_is_sent(
    api, shopper_api, mug, bank, mailoutbox
):
    order = order_in(processing_order(shopper_api, mug, bank))
    settle_by_webhook(api, bank, order)
    assert (order.card_brand, order.card_last4) == ("", "")
    # The webhook's move to PAID claimed the receipt for a sender that runs once the
    # transaction commits (never, in this test's): let it go, as its lease would.
    Order.objects.filter(pk=order.pk).update(receipt_claimed_until=None)

    assert receipts.send_receipt(order.id) is True

    [message] = mailoutbox
    assert f"Your receipt for order {order.id}" == message.subject
    assert "ending in" not in message.body
    assert "Paid with" not in message.body
    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert (order.card_brand, order.card_last4) == ("", "")


def test_a_failed_order_paid_again_by_bank_debit_is_processing_then_paid_by_webhook(
    api, shopper_api, mug, bank
):
    declined = place(
        shopper_api, mug, confirmation_token=card_token(bank, "pm_card_chargeDeclined")
    )
    assert declined.status_code == 402
    order = order_in(declined)

    response = pay_with_token(shopper_api, order.id, bank_account_token(bank))

    # Not "declined" again: the debit is on its way (the order stays FAILED, never
    # going back to PENDING, until the debit pays it).
    assert response.status_code == 202, response.json()
    body = response.json()["order"]
    assert (body["status"], body["payment_processing"], body["payment_pending"]) == (
        "FAILED",
        True,
        True,
    )
    assert body["can_pay"] is False
    assert confirm(shopper_api, order.id).status_code == 202
    third = pay_with_token(shopper_api, order.id, card_token(bank))
    assert third.status_code == 409  # one payment on its way is enough
    assert len(payment_intents_at(bank, order)) == 1

    settle_by_webhook(api, bank, order)

    assert order.status == "PAID"
    assert money_held_for(bank, order) == order.amount
    paid = shopper_api.get(f"/api/order/{order.id}/").json()
    assert (paid["payment_processing"], paid["can_pay"]) == (False, False)


def test_a_failed_order_whose_bank_debit_fails_too_shows_the_banks_reason(
    api, shopper_api, mug, bank
):
    order = order_in(
        place(shopper_api, mug, confirmation_token=card_token(bank, "pm_card_chargeDeclined"))
    )
    assert (
        pay_with_token(
            shopper_api, order.id, bank_account_token(bank, ACCOUNT_INSUFFICIENT_FUNDS)
        ).status_code
        == 202
    )

    settle_by_webhook(api, bank, order)

    assert (order.status, order.failure_message) == ("FAILED", INSUFFICIENT_FUNDS)
    failed = shopper_api.get(f"/api/order/{order.id}/").json()
    assert (failed["payment_processing"], failed["can_pay"]) == (False, True)
    assert money_held_for(bank, order) == 0


def test_a_bank_debits_webhooks_twice_and_out_of_order_pay_it_once(api, shopper_api, mug, bank):
    order = order_in(processing_order(shopper_api, mug, bank))
    bank.settle(order.stripe_payment_intent_id)
    events = events_about(bank, order.stripe_payment_intent_id)  # processing, then settled

    # Late, twice, newest first: "processing" arrives after "succeeded".
    answers = deliver_events(api, list(reversed(events)) * 2)

    assert all(answer.status_code == 200 for answer in answers)
    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    assert money_held_for(bank, order) == order.amount


def test_a_confirmation_token_payment_whose_process_died_after_stripe_confirmed_is_paid_once(
    shopper_api, mug, devstripe
):
    # The request's process dies after Stripe confirmed: its attempt stays "started",
    # nothing answered. Past the attempt's lease, reconcile sends it again with its key
    # and parameters and Stripe repeats its first answer: paid once.
    order = order_in(place(shopper_api, mug, confirmation_token=card_token(devstripe)))
    long_ago = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=order.pk).update(status="PENDING", updated=long_ago)
    PaymentAttempt.objects.filter(order=order).update(
        status=PaymentAttempt.Status.STARTED, created=long_ago, updated=long_ago
    )
    confirmations = len(devstripe.requests(method="POST"))

    reconcile()

    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    assert money_held_for(devstripe, order) == order.amount
    assert len(payment_intents_at(devstripe, order)) == 1
    # Reconcile may retrieve the PaymentIntent or send the confirmation again: never a
    # second confirmation that Stripe carries out anew.
    after = devstripe.requests(method="POST")[confirmations:]
    assert not [r for r in after if r["path"].endswith("/confirm") and not r["replayed"]]
