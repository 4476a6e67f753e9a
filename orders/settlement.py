"""How an order's state may change: the only code that moves an order.

An order moves through `transition`, a conditional UPDATE that only ever moves it
forward, so the synchronous answer, a webhook (late, repeated or out of order) and a
reconcile run can all race safely:

    PENDING ──► PAID ──► REFUNDED
       │          ▲
       └─► FAILED ┘   (a later attempt on the same order succeeded)

`settle_from_stripe` applies what Stripe says about a charge or PaymentIntent, and
only after checking that the object is really the order's: its own PaymentIntent (or a
charge of it), or a charge made by one of its attempts, with the order's amount and
currency. Stripe's metadata alone proves nothing — another database sharing the Stripe
account numbers its orders the same way — so anything else changes no order and is
recorded as a `PaymentAnomaly` for an operator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Order, PaymentAnomaly, PaymentAttempt
from orders.payments import Outcome, StripePayment

log = logging.getLogger("orders")

Status = Order.Status
AttemptStatus = PaymentAttempt.Status

# Which states each state may be reached from. Nothing leaves REFUNDED; PAID is left
# only for REFUNDED. REFUNDED may be reached straight from PENDING or FAILED when
# Stripe tells us about a refund of a charge we had not yet seen succeed.
ALLOWED_FROM = {
    Status.PAID: (Status.PENDING, Status.FAILED),
    Status.FAILED: (Status.PENDING,),
    Status.REFUNDED: (Status.PENDING, Status.FAILED, Status.PAID),
}

# Attempts whose outcome Stripe has not told us yet.
UNSETTLED_ATTEMPTS = (AttemptStatus.STARTED, AttemptStatus.UNKNOWN)
# An attempt may still learn its outcome from these states (3-D Secure ends later).
OPEN_ATTEMPTS = (*UNSETTLED_ATTEMPTS, AttemptStatus.REQUIRES_ACTION)


def transition(order_id: int, to_status: Status, **fields: Any) -> bool:
    """Move an order to `to_status` if its current state allows it. True if it moved."""
    allowed_from = ALLOWED_FROM.get(to_status, ())  # nothing moves back to PENDING
    moved = Order.objects.filter(pk=order_id, status__in=allowed_from).update(
        status=to_status, updated=timezone.now(), **fields
    )
    if moved:
        log.info("order_id=%s status=%s", order_id, to_status)
    return bool(moved)


def fail_order(order_id: int, *, failure_code: str, failure_message: str) -> None:
    """A pending order fails; one that had failed already shows the newest reason."""
    fields = {"failure_code": failure_code[:100], "failure_message": failure_message[:500]}
    if not transition(order_id, Status.FAILED, **fields):
        Order.objects.filter(pk=order_id, status=Status.FAILED).update(
            updated=timezone.now(), **fields
        )


def finish_attempt(attempt_id: int, status: str, **fields: Any) -> None:
    """Record an attempt's outcome. Stripe's "succeeded" wins over anything recorded."""
    allowed: Sequence[AttemptStatus] = OPEN_ATTEMPTS
    if status == AttemptStatus.SUCCEEDED:
        allowed = (*OPEN_ATTEMPTS, AttemptStatus.FAILED)
    # An attempt already in `status` keeps its time: it says since when it has been so
    # (reconcile gives up on a bank step left waiting for a day).
    allowed = [state for state in allowed if state != status]
    PaymentAttempt.objects.filter(pk=attempt_id, status__in=allowed).update(
        status=status, updated=timezone.now(), **fields
    )


def remember_payment_intent(order_id: int, payment_intent_id: str) -> None:
    """The order's one PaymentIntent, once known: never replaced by another."""
    Order.objects.filter(pk=order_id, stripe_payment_intent_id="").update(
        stripe_payment_intent_id=payment_intent_id
    )


def refuse_attempt(attempt: PaymentAttempt, *, code: str, message: str) -> None:
    """Stripe refused an attempt outright (nothing was charged): it and a pending order fail."""
    finish_attempt(
        attempt.pk, AttemptStatus.FAILED, failure_code=code[:100], failure_message=message[:500]
    )
    fail_order(attempt.order_id, failure_code=code or "refused", failure_message=message)


def settle_from_stripe(
    payment: StripePayment,
    *,
    attempt: PaymentAttempt | None = None,
    request_key: str = "",
) -> int | None:
    """Apply what Stripe says about a charge or PaymentIntent to its order, if it is ours.

    `attempt` is the attempt whose own call returned `payment` (the synchronous path);
    `request_key` is the idempotency key of the request behind a webhook event. Safe to
    repeat, in any order. Returns the id of the order it applied to, else None.
    """
    order = attempt.order if attempt is not None else _claimed_order(payment)
    if order is None:
        return None
    problem = _mismatch(order, payment, attempt)
    if problem:
        record_anomaly(payment, problem, order=order)
        return None
    attempt = attempt or _attempt_behind(order, payment, request_key)
    with transaction.atomic():
        _apply(order, payment, attempt)
    return order.pk


def _claimed_order(payment: StripePayment) -> Order | None:
    """The order an object is (or claims to be) about: by its PaymentIntent, else metadata."""
    if payment.payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment.payment_intent_id).first()
        if order is not None:
            return order
    if payment.order_id is None:
        log.info("stripe %s %s names no order of ours", payment.object_type, payment.id)
        return None
    order = Order.objects.filter(pk=payment.order_id).first()
    if order is None:
        record_anomaly(payment, "names an order that does not exist")
    return order


def _mismatch(order: Order, payment: StripePayment, attempt: PaymentAttempt | None) -> str:
    """Why `payment` is not the order's, or "" when it is."""
    if payment.payment_intent_id:
        own = payment.payment_intent_id == order.stripe_payment_intent_id or (
            not order.stripe_payment_intent_id
            and bool(order.payment_intent_key)
            and payment.idempotency_key == order.payment_intent_key
        )
        if not own:
            return "not the order's PaymentIntent"
    elif attempt is not None:
        if payment.idempotency_key and payment.idempotency_key != attempt.idempotency_key:
            return "not made by the order's attempt"
    elif not (
        payment.idempotency_key
        and order.attempts.filter(
            kind=PaymentAttempt.Kind.CHARGE, idempotency_key=payment.idempotency_key
        ).exists()
    ):
        return "not made by one of the order's attempts"
    if payment.amount != order.amount or payment.currency != order.currency.lower():
        return (
            f"amount {payment.amount} {payment.currency} is not the order's "
            f"{order.amount} {order.currency.lower()}"
        )
    return ""


def _attempt_behind(
    order: Order, payment: StripePayment, request_key: str
) -> PaymentAttempt | None:
    """The attempt that made `payment`, when it can be told.

    The request's idempotency key names it exactly; a charge carries its attempt's key in
    its metadata; without either (a 3-D Secure step finished in the browser) it is the
    newest open attempt that paid with the same PaymentMethod, or on the PaymentIntent.
    """
    attempts = order.attempts.all()
    # A PaymentIntent's own metadata (and its charges') carry the key that created it,
    # not the key of the attempt that confirmed it.
    key = request_key or ("" if payment.payment_intent_id else payment.idempotency_key)
    named = attempts.filter(idempotency_key=key).first() if key else None
    if named is not None:
        return named
    open_attempts = attempts.filter(status__in=OPEN_ATTEMPTS).order_by("-number")
    if payment.payment_method:
        named = open_attempts.filter(payment_source=payment.payment_method).first()
        if named is not None:
            return named
    if payment.payment_intent_id and payment.outcome != Outcome.DECLINED:
        # An order takes a new card only once the previous one has ended, so the newest
        # open attempt on its PaymentIntent is the one this is about (a test card alias
        # such as pm_card_visa becomes another PaymentMethod id at Stripe). Not for a
        # failure: a late one of an earlier card must not fail the card now being tried.
        return open_attempts.filter(kind=PaymentAttempt.Kind.PAYMENT_INTENT).first()
    return None


def _apply(order: Order, payment: StripePayment, attempt: PaymentAttempt | None) -> None:
    if payment.payment_intent_id and not order.stripe_payment_intent_id:
        # Checked above to be the one the order's key created.
        remember_payment_intent(order.pk, payment.payment_intent_id)
    attempt_id = attempt.pk if attempt is not None else None
    # What the attempt paid with: its PaymentIntent (even when told by a charge of it),
    # or its own charge. Refunds name it.
    stripe_id = payment.payment_intent_id or payment.id
    outcome = payment.outcome
    if outcome == Outcome.SUCCEEDED:
        _succeeded(order, payment, attempt_id, stripe_id)
    elif outcome == Outcome.REQUIRES_ACTION and attempt_id:
        finish_attempt(attempt_id, AttemptStatus.REQUIRES_ACTION, stripe_id=stripe_id)
    elif outcome in (Outcome.DECLINED, Outcome.CANCELED):
        failure = {"failure_code": payment.failure_code, "failure_message": payment.failure_message}
        if attempt_id:
            finish_attempt(attempt_id, AttemptStatus.FAILED, stripe_id=stripe_id, **failure)
        fail_order(order.pk, **failure)
    # PROCESSING and OPEN decide nothing yet: a webhook or reconcile will tell.


def _succeeded(
    order: Order, payment: StripePayment, attempt_id: int | None, stripe_id: str
) -> None:
    if attempt_id:
        finish_attempt(attempt_id, AttemptStatus.SUCCEEDED, stripe_id=stripe_id, failure_code="")
    charge_id = payment.charge_id
    already_paid = order.status in (Status.PAID, Status.REFUNDED)
    if already_paid and charge_id and order.stripe_charge_id not in ("", charge_id):
        # A second payment succeeded for an order already paid: an operator refunds it.
        record_anomaly(payment, "a second payment for an order already paid", order=order)
        return
    if payment.refunded:
        transition(order.pk, Status.REFUNDED, stripe_charge_id=charge_id)
    elif not transition(
        order.pk, Status.PAID, stripe_charge_id=charge_id, failure_code="", failure_message=""
    ):
        Order.objects.filter(pk=order.pk, stripe_charge_id="").update(stripe_charge_id=charge_id)


def record_anomaly(payment: StripePayment, reason: str, *, order: Order | None = None) -> None:
    """Keep an object that does not belong where it claims, once, for an operator to see."""
    log.warning(
        "payment anomaly: stripe %s %s (order_id=%s): %s",
        payment.object_type,
        payment.id,
        order.pk if order else payment.order_id,
        reason,
    )
    try:
        with transaction.atomic():
            PaymentAnomaly.objects.get_or_create(
                stripe_id=payment.id,
                reason=reason[:255],
                defaults={
                    "object_type": payment.object_type,
                    "order": order,
                    "amount": payment.amount,
                    "currency": payment.currency[:3],
                    "stripe_status": payment.outcome.value,
                },
            )
    except IntegrityError:  # recorded by a concurrent delivery of the same object
        pass
