"""Settling what the synchronous path could not: reconcile_orders' work.

A crash between Stripe and the database, a lost answer, a webhook that never came, a
PaymentIntent paid from outside the shop's pages, a bank step never finished: each
leaves an order whose state is not yet Stripe's. `reconcile_order` asks Stripe and
settles it through `orders.settlement`, like a webhook would; it is safe to run again
and again, from any instance (the command holds a lease so one run goes at a time).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from orders import attempts, payments
from orders.models import IdempotencyRecord, Order, PaymentAnomaly, PaymentAttempt
from orders.payments import Outcome
from orders.settlement import OPEN_ATTEMPTS, fail_order, settle_from_stripe

log = logging.getLogger("orders")

Status = Order.Status
AttemptStatus = PaymentAttempt.Status

# A bank's 3-D Secure step left unfinished this long is given up: the PaymentIntent is
# canceled so that it can never be paid later, unseen.
ACTION_PATIENCE = timedelta(days=1)
ABANDONED_MESSAGE = (
    "Your bank's confirmation was not completed within a day, so the payment was "
    "canceled and nothing was charged. Please place a new order."
)
# Failed orders holding a PaymentIntent are looked at for this long: a PaymentIntent
# can still be confirmed (by Stripe.js with its client secret) after the shop failed it.
FAILED_WATCH = timedelta(days=7)


def orders_to_reconcile(*, older_than: timedelta) -> QuerySet[Order]:
    """Orders whose state may not be Stripe's: pending ones, ones with an attempt of
    unknown outcome (whatever their state), and recently failed ones holding a
    PaymentIntent."""
    now = timezone.now()
    cutoff = now - older_than
    unknown = Q(attempts__status=AttemptStatus.UNKNOWN, attempts__updated__lte=cutoff) | Q(
        attempts__status=AttemptStatus.STARTED,
        attempts__created__lte=min(cutoff, now - attempts.attempt_lease()),
    )
    failed_with_intent = Q(status=Status.FAILED, updated__gte=now - FAILED_WATCH) & ~Q(
        stripe_payment_intent_id=""
    )
    return (
        Order.objects.filter(
            Q(status=Status.PENDING, updated__lte=cutoff) | unknown | failed_with_intent
        )
        .select_related("product")
        .distinct()
        .order_by("pk")
    )


def reconcile_order(*, order: Order) -> str:
    """Settle one order from Stripe; returns its status afterwards.

    Raises payments.PaymentUnavailable when Stripe cannot be reached (try again later).
    """
    attempts.settle_unknown_attempts(order)
    order.refresh_from_db()
    processing = False
    if order.status in (Status.PENDING, Status.FAILED) and order.stripe_payment_intent_id:
        intent = payments.retrieve_payment_intent(order.stripe_payment_intent_id)
        settle_from_stripe(intent)
        # Stripe holds the payment and decides later (a bank debit can take days): its
        # webhook, or a later run, settles the order; it is never failed meanwhile.
        processing = intent.outcome == Outcome.PROCESSING
        if intent.outcome == Outcome.REQUIRES_ACTION and _waited_too_long(order):
            _cancel_abandoned(order)
    order.refresh_from_db()
    if order.status == Status.PENDING and not processing and _nothing_left_to_wait_for(order):
        fail_order(order.pk, failure_code="not_completed", failure_message=attempts.NOT_COMPLETED)
        order.refresh_from_db()
    return order.status


def _waited_too_long(order: Order) -> bool:
    waiting = order.attempts.filter(status=AttemptStatus.REQUIRES_ACTION).order_by("-number")
    newest = waiting.first()
    since = newest.updated if newest is not None else order.updated
    return since < timezone.now() - ACTION_PATIENCE


def _cancel_abandoned(order: Order) -> None:
    try:
        intent = payments.cancel_payment_intent(
            order.stripe_payment_intent_id, idempotency_key=f"{order.payment_intent_key}-cancel"
        )
    except payments.PaymentRejected as error:  # paid (or canceled) in the meantime
        if error.payment is not None:
            settle_from_stripe(error.payment)
        return
    settle_from_stripe(intent)
    if intent.outcome == Outcome.CANCELED:
        fail_order(order.pk, failure_code="abandoned", failure_message=ABANDONED_MESSAGE)
        log.info("bank step abandoned: PaymentIntent canceled", extra={"order_id": order.pk})


def _nothing_left_to_wait_for(order: Order) -> bool:
    """A pending order with no attempt at all (a crash right after it was placed), or
    none open for longer than Stripe's key lifetime: it was never paid."""
    if not order.attempts.exists():
        return True
    if order.attempts.filter(status__in=OPEN_ATTEMPTS).exists():
        return False
    return order.updated < timezone.now() - attempts.STRIPE_KEY_LIFETIME


def finish_idempotency_records() -> int:
    """Give a settled answer to client keys whose request died or answered 503.

    Their replay answers with the order's current state; marking them finished says
    they are no longer in progress. Keys whose request died before placing an order
    are forgotten, so the client may use them again.
    """
    now = timezone.now()
    stale = Q(response_status__isnull=True, created__lt=now - attempts.attempt_lease())
    IdempotencyRecord.objects.filter(stale, order__isnull=True).delete()
    finished = 0
    for status, code in ((Status.PAID, 200), (Status.REFUNDED, 200), (Status.FAILED, 402)):
        finished += IdempotencyRecord.objects.filter(
            stale | Q(response_status=503), order__status=status
        ).update(response_status=code, response_body=None)
    return finished


def anomalies_since(moment: datetime) -> list[PaymentAnomaly]:
    return list(PaymentAnomaly.objects.filter(detected__gte=moment).order_by("detected"))
