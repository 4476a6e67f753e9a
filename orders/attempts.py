"""One try at paying an order: sending it to Stripe, and learning an outcome that was lost.

An attempt is saved (and committed) with its idempotency key before Stripe is called,
and Stripe's answer is applied in a new short transaction: Stripe is never called
inside an open database transaction. Sending an attempt again with its saved key is
always safe within Stripe's key lifetime: Stripe repeats the first result if it did the
request, and does it now if it never got it. So an attempt whose answer was lost (a
timeout, a 5xx, a dropped connection, a worker killed mid-call) is never taken for a
failure: it stays of unknown outcome until Stripe has been asked again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from orders import payments
from orders.models import Order, PaymentAttempt
from orders.payments import Outcome, StripePayment
from orders.settlement import (
    UNSETTLED_ATTEMPTS,
    fail_order,
    finish_attempt,
    refuse_attempt,
    remember_payment_intent,
    settle_answer,
    settle_from_stripe,
)

log = logging.getLogger("orders")

AttemptStatus = PaymentAttempt.Status

# Stripe forgets idempotency keys after 24 hours; past that, sending an attempt again
# could charge a second time, so an older attempt is only looked up. An hour of margin
# covers clocks and the time a reconcile run takes.
STRIPE_KEY_LIFETIME = timedelta(hours=23)

NOT_COMPLETED = "The payment was not completed."


def attempt_lease() -> timedelta:
    """How long a request may still be asking Stripe about an attempt it started.

    The SDK's timeout for each of its tries, with a margin: an attempt still `started`
    after this was abandoned by a process that died, and may be settled by another.
    """
    tries = settings.STRIPE_MAX_NETWORK_RETRIES + 1
    return timedelta(seconds=settings.STRIPE_TIMEOUT * tries + 30)


def unsettled_attempts(order: Order) -> QuerySet[PaymentAttempt]:
    """The order's attempts whose outcome is unknown and that nobody is asking about."""
    return order.attempts.filter(status=AttemptStatus.UNKNOWN) | order.attempts.filter(
        status=AttemptStatus.STARTED, created__lt=timezone.now() - attempt_lease()
    )


@dataclass(frozen=True)
class StripeAnswer:
    """What Stripe answered to an attempt: the charge or PaymentIntent, or why not."""

    payment: StripePayment | None = None
    error: payments.PaymentError | None = None
    # The order's PaymentIntent when it was created on the way, even if its
    # confirmation then failed.
    payment_intent_id: str = ""


def send(attempt: PaymentAttempt) -> StripePayment:
    """Send an attempt to Stripe (again) with its saved key, and apply the answer.

    Raises a PaymentError when Stripe refused or could not be reached; the attempt then
    records the refusal, or stays of unknown outcome.
    """
    answer = ask_stripe(attempt)
    with transaction.atomic():
        record_answer(attempt, answer)
    if answer.payment is None:
        raise answer.error or payments.PaymentUnavailable(payments.UNAVAILABLE_MESSAGE)
    return answer.payment


def ask_stripe(attempt: PaymentAttempt) -> StripeAnswer:
    """Make the attempt's call to Stripe with its saved key. Writes nothing: the caller
    records the answer (`record_answer`), with no transaction open meanwhile."""
    order = attempt.order
    intent_id = ""
    try:
        if attempt.kind == PaymentAttempt.Kind.CHARGE:
            payment = payments.create_charge(
                amount=order.amount,
                currency=order.currency,
                source=attempt.payment_source,
                order_id=order.pk,
                description=description(order),
                idempotency_key=attempt.idempotency_key,
            )
        else:
            intent_id = _payment_intent_of(order)
            by_token = attempt.source_type == PaymentAttempt.SourceType.CONFIRMATION_TOKEN
            # The same parameters on every repeat of the attempt, its return_url included.
            payment = payments.confirm_payment_intent(
                intent_id,
                payment_method="" if by_token else attempt.payment_source,
                confirmation_token=attempt.payment_source if by_token else "",
                return_url=attempt.return_url,
                idempotency_key=attempt.idempotency_key,
            )
    except payments.PaymentError as error:
        return StripeAnswer(error=error, payment_intent_id=intent_id)
    return StripeAnswer(payment=payment, payment_intent_id=intent_id)


def record_answer(attempt: PaymentAttempt, answer: StripeAnswer) -> bool:
    """Apply Stripe's answer to the attempt and its order, in the caller's transaction.

    The attempt and the order in hand (`attempt.order`) show the changes; True when
    they are what the database holds, False when the order must be read again.
    """
    if answer.payment is not None:
        return settle_answer(attempt, answer.payment)
    error = answer.error
    if isinstance(error, payments.CardDeclined):
        if error.payment is not None:  # the PaymentIntent, with this card's decline
            return settle_answer(attempt, error.payment)
        return refuse_attempt(attempt, code=error.code or "card_declined", message=error.message)
    if isinstance(error, payments.PaymentRejected):
        _rejected(attempt, error, answer.payment_intent_id)
        return False
    if isinstance(error, payments.PaymentMisconfigured):
        # Stripe refused our key before doing anything: nothing was charged.
        return refuse_attempt(attempt, code="misconfigured", message=error.message)
    # Unavailable (no answer): the outcome is unknown until settled from Stripe.
    unknown = PaymentAttempt.objects.filter(pk=attempt.pk, status=AttemptStatus.STARTED).update(
        status=AttemptStatus.UNKNOWN, updated=timezone.now()
    )
    log.warning(
        "payment outcome unknown: left to settle",
        extra={"order_id": attempt.order_id, "attempt_id": attempt.pk},
    )
    if unknown:
        attempt.status = AttemptStatus.UNKNOWN
    return bool(unknown)


def _rejected(attempt: PaymentAttempt, error: payments.PaymentRejected, intent_id: str) -> None:
    """Stripe refused the request. When it sent the PaymentIntent along (it is already
    paid, or canceled), the PaymentIntent's state is what counts, not the refusal's
    wording, which is meant for developers."""
    if error.payment is None:
        if intent_id:  # created, then a card it refused (an unknown PaymentMethod, say)
            remember_payment_intent(attempt.order_id, intent_id)
        refuse_attempt(attempt, code=error.code or "refused", message=error.message)
        return
    settle_from_stripe(error.payment)
    if error.payment.outcome in (Outcome.OPEN, Outcome.DECLINED):
        # The PaymentIntent still waits for a way to pay (a used or expired
        # ConfirmationToken, say): nothing was charged, so the order fails with the
        # refusal and may be paid again, rather than stay pending with nothing open.
        refuse_attempt(attempt, code=error.code or "refused", message=error.message)
        return
    finish_attempt(attempt.pk, AttemptStatus.FAILED, failure_code=error.code[:100])


def _payment_intent_of(order: Order) -> str:
    """The order's one PaymentIntent: created on first need with the order's saved key,
    so that a repeat from any process returns the same one."""
    if order.stripe_payment_intent_id:
        return order.stripe_payment_intent_id
    intent = payments.create_payment_intent(
        amount=order.amount,
        currency=order.currency,
        order_id=order.pk,
        description=description(order),
        idempotency_key=order.payment_intent_key,
    )
    # Saved on the order with the attempt's outcome (settlement._apply): one write fewer.
    return intent.id


def settle_unknown(attempt: PaymentAttempt) -> None:
    """Learn from Stripe the outcome of an attempt whose answer was lost.

    Within Stripe's key lifetime the attempt is sent again with its key, unless its
    PaymentIntent already shows how it ended. Past it, Stripe's records are searched
    instead, and an attempt found nowhere did not happen. Raises PaymentUnavailable
    when Stripe still cannot be reached.
    """
    order = attempt.order
    if attempt.created < timezone.now() - STRIPE_KEY_LIFETIME:
        _look_up(attempt)
        return
    if attempt.kind == PaymentAttempt.Kind.PAYMENT_INTENT and order.stripe_payment_intent_id:
        intent = payments.retrieve_payment_intent(order.stripe_payment_intent_id)
        settle_from_stripe(intent)
        attempt.refresh_from_db(fields=["status"])
        if attempt.status not in UNSETTLED_ATTEMPTS:
            return  # the PaymentIntent showed how this attempt ended
        if intent.outcome == Outcome.PROCESSING:
            return  # Stripe has not decided yet: its webhook, or a later look, will tell
        if intent.outcome in (Outcome.SUCCEEDED, Outcome.CANCELED):
            # It takes no more cards, and this attempt's card did not end it.
            finish_attempt(attempt.pk, AttemptStatus.FAILED, failure_code="superseded")
            return
    try:
        send(attempt)
    except (payments.CardDeclined, payments.PaymentRejected, payments.PaymentMisconfigured):
        pass  # a definite answer: recorded by send()


def _look_up(attempt: PaymentAttempt) -> None:
    order = attempt.order
    if order.stripe_payment_intent_id:
        found = [payments.retrieve_payment_intent(order.stripe_payment_intent_id)]
    else:
        found = payments.find_payments_for_order(order.pk)
    for payment in found:
        settle_from_stripe(payment)
    attempt.refresh_from_db(fields=["status"])
    if attempt.status in UNSETTLED_ATTEMPTS:
        finish_attempt(
            attempt.pk,
            AttemptStatus.FAILED,
            failure_code="not_completed",
            failure_message=NOT_COMPLETED,
        )
        fail_order(order.pk, failure_code="not_completed", failure_message=NOT_COMPLETED)


def settle_unknown_attempts(order: Order) -> None:
    """Settle every attempt of the order whose outcome is unknown (see settle_unknown)."""
    for attempt in unsettled_attempts(order).select_related("order"):
        settle_unknown(attempt)


def description(order: Order) -> str:
    return f"Stripe Demo order {order.pk}: {order.quantity} × {order.product.name}"
