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

The move to PAID also records what the order's receipt needs and claims the receipt for
the process making the move, in the same UPDATE; the receipt is sent once that has
committed (`orders.receipts`, which only ever writes the receipt's own columns).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import receipts
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
# An attempt may still learn its outcome from these states (3-D Secure ends later, a
# bank debit settles by webhook).
OPEN_ATTEMPTS = (*UNSETTLED_ATTEMPTS, AttemptStatus.REQUIRES_ACTION, AttemptStatus.PROCESSING)


def transition(order_id: int, to_status: Status, **fields: Any) -> bool:
    """Move an order to `to_status` if its current state allows it. True if it moved."""
    allowed_from = ALLOWED_FROM.get(to_status, ())  # nothing moves back to PENDING
    moved = Order.objects.filter(pk=order_id, status__in=allowed_from).update(
        status=to_status, updated=timezone.now(), **fields
    )
    if moved:
        log.info("order status changed", extra={"order_id": order_id, "status": to_status})
    return bool(moved)


def fail_order(order_id: int, *, failure_code: str, failure_message: str, **fields: Any) -> bool:
    """A pending order fails; one that had failed already shows the newest reason.

    True when the order is now failed with this reason (and `fields`)."""
    fields.update(failure_code=failure_code[:100], failure_message=failure_message[:500])
    if transition(order_id, Status.FAILED, **fields):
        return True
    updated = Order.objects.filter(pk=order_id, status=Status.FAILED).update(
        updated=timezone.now(), **fields
    )
    return bool(updated)


def finish_attempt(attempt_id: int, status: str, **fields: Any) -> bool:
    """Record an attempt's outcome. Stripe's "succeeded" wins over anything recorded.

    True when the attempt moved to `status`."""
    allowed: Sequence[AttemptStatus] = OPEN_ATTEMPTS
    if status == AttemptStatus.SUCCEEDED:
        allowed = (*OPEN_ATTEMPTS, AttemptStatus.FAILED)
    # An attempt already in `status` keeps its time: it says since when it has been so
    # (reconcile gives up on a bank step left waiting for a day).
    allowed = [state for state in allowed if state != status]
    moved = PaymentAttempt.objects.filter(pk=attempt_id, status__in=allowed).update(
        status=status, updated=timezone.now(), **fields
    )
    return bool(moved)


def remember_payment_intent(order_id: int, payment_intent_id: str) -> bool:
    """The order's one PaymentIntent, once known: never replaced by another."""
    saved = Order.objects.filter(pk=order_id, stripe_payment_intent_id="").update(
        stripe_payment_intent_id=payment_intent_id
    )
    return bool(saved)


def refuse_attempt(attempt: PaymentAttempt, *, code: str, message: str) -> bool:
    """Stripe refused an attempt outright (nothing was charged): it and a pending order fail.

    The attempt and its order in hand (`attempt.order`) show the change; True when both
    moved as the database did."""
    failure = {"failure_code": code[:100], "failure_message": message[:500]}
    attempt_moved = _finish(attempt, AttemptStatus.FAILED, **failure)
    failure["failure_code"] = code[:100] or "refused"
    return _fail(attempt.order, **failure) and attempt_moved


# -- the same changes, made to an order and attempt in hand ------------------------------
# The synchronous path answers the shopper from the order it holds: each change is made
# by one conditional UPDATE, and copied onto the objects only when that UPDATE moved the
# row. False tells the caller to read the order again (a webhook or reconcile was first).


def _changed(instance: Order | PaymentAttempt, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


def _finish(attempt: PaymentAttempt, status: str, **fields: Any) -> bool:
    if not finish_attempt(attempt.pk, status, **fields):
        return False
    _changed(attempt, {"status": status, **fields})
    return True


def _move(order: Order, to_status: Status, **fields: Any) -> bool:
    if not transition(order.pk, to_status, **fields):
        return False
    _changed(order, {"status": to_status, **fields})
    return True


def _fail(order: Order, **fields: Any) -> bool:
    if not fail_order(order.pk, **fields):
        return False
    fields.update(
        failure_code=fields["failure_code"][:100], failure_message=fields["failure_message"][:500]
    )
    _changed(order, {"status": Status.FAILED, **fields})
    return True


def _remember(order: Order, payment_intent_id: str) -> bool:
    if not remember_payment_intent(order.pk, payment_intent_id):
        return False
    order.stripe_payment_intent_id = payment_intent_id
    return True


def settle_from_stripe(
    payment: StripePayment,
    *,
    attempt: PaymentAttempt | None = None,
    request_key: str = "",
) -> int | None:
    """Apply what Stripe says about a charge or PaymentIntent to its order, if it is ours.

    `attempt` is the attempt whose own call returned `payment`; `request_key` is the
    idempotency key of the request behind a webhook event. Safe to repeat, in any order.
    Returns the id of the order it applied to, else None.
    """
    if attempt is not None:
        settle_answer(attempt, payment)
        return attempt.order_id
    order = _claimed_order(payment)
    if order is None:
        return None
    problem = _mismatch(order, payment, None)
    if problem:
        record_anomaly(payment, problem, order=order)
        return None
    with transaction.atomic():
        _apply(order, payment, _attempt_behind(order, payment, request_key))
    return order.pk


def settle_answer(attempt: PaymentAttempt, payment: StripePayment) -> bool:
    """Apply Stripe's answer to the attempt's own call: the synchronous path.

    The order is the one in hand (`attempt.order`), never looked up from the object;
    the object is still checked against it (its PaymentIntent or the attempt's key, the
    amount and the currency), at no cost. The attempt and order in hand show the
    changes; True when they are the database's, False when the order must be read again
    (a webhook or reconcile changed it first, or the object is an anomaly).
    """
    order = attempt.order
    problem = _mismatch(order, payment, attempt)
    if problem:
        record_anomaly(payment, problem, order=order)
        return False
    # Within the caller's transaction when there is one (no savepoint: nothing here is
    # undone alone).
    with transaction.atomic(savepoint=False):
        return _apply(order, payment, attempt)


def _claimed_order(payment: StripePayment) -> Order | None:
    """The order an object is (or claims to be) about: by its PaymentIntent, else metadata."""
    if payment.payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment.payment_intent_id).first()
        if order is not None:
            return order
    if payment.order_id is None:
        log.info(
            "stripe object names no order of ours",
            extra={"object_type": payment.object_type, "stripe_id": payment.id},
        )
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
    if payment.payment_intent_id:
        # A failure with no request behind it: a payment Stripe was processing failed
        # later (a bank debit). While it processes the PaymentIntent takes no other try
        # (checkout refuses one), so it is the attempt being processed.
        return open_attempts.filter(status=AttemptStatus.PROCESSING).first()
    return None


def _apply(order: Order, payment: StripePayment, attempt: PaymentAttempt | None) -> bool:
    """Make the changes `payment` says, to the database and to `order` and `attempt` in
    hand: the attempt first, then the order (every writer takes them in this order).
    True when every change moved the rows it meant to (see _changed)."""
    # Checked to be the one the order's key created (_mismatch): saved with the order's
    # other changes, in the same UPDATE.
    intent = (
        payment.payment_intent_id
        if payment.payment_intent_id and not order.stripe_payment_intent_id
        else ""
    )
    with_intent = {"stripe_payment_intent_id": intent} if intent else {}
    # What the attempt paid with: its PaymentIntent (even when told by a charge of it),
    # or its own charge. Refunds name it.
    stripe_id = payment.payment_intent_id or payment.id
    outcome = payment.outcome
    attempt_moved = True
    if outcome == Outcome.SUCCEEDED:
        if attempt is not None:
            attempt_moved = _finish(
                attempt, AttemptStatus.SUCCEEDED, stripe_id=stripe_id, failure_code=""
            )
        order_moved = _succeeded(order, payment, with_intent)
    elif outcome in (Outcome.DECLINED, Outcome.CANCELED):
        failure = {"failure_code": payment.failure_code, "failure_message": payment.failure_message}
        if attempt is not None:
            attempt_moved = _finish(attempt, AttemptStatus.FAILED, stripe_id=stripe_id, **failure)
        order_moved = _fail(order, **failure, **with_intent)
    else:
        # PROCESSING and OPEN decide nothing yet (a webhook or reconcile will tell), nor
        # does the bank's step: the order only learns its PaymentIntent, and the attempt
        # that Stripe processes or the bank waits on says so.
        waiting = {
            Outcome.REQUIRES_ACTION: AttemptStatus.REQUIRES_ACTION,
            Outcome.PROCESSING: AttemptStatus.PROCESSING,
        }.get(outcome)
        if waiting is not None and attempt is not None:
            attempt_moved = _finish(attempt, waiting, stripe_id=stripe_id)
        return attempt_moved and (not intent or _remember(order, intent))
    if intent and not order_moved:
        _remember(order, intent)  # the order did not move, yet its PaymentIntent is known
    return attempt_moved and order_moved


def _succeeded(order: Order, payment: StripePayment, with_intent: dict[str, str]) -> bool:
    charge_id = payment.charge_id
    already_paid = order.status in (Status.PAID, Status.REFUNDED)
    if already_paid and charge_id and order.stripe_charge_id not in ("", charge_id):
        # A second payment succeeded for an order already paid: an operator refunds it.
        record_anomaly(payment, "a second payment for an order already paid", order=order)
        return False
    if payment.refunded:
        return _move(order, Status.REFUNDED, stripe_charge_id=charge_id, **with_intent)
    paid = {"stripe_charge_id": charge_id, "failure_code": "", "failure_message": ""}
    # The receipt's facts and its claim for this process ride on the same UPDATE.
    receipt = receipts.paid_fields(payment)
    if _move(order, Status.PAID, **paid, **with_intent, **receipt):
        receipts.send_when_committed(order.pk, receipt["receipt_claimed_until"])
        return True
    Order.objects.filter(pk=order.pk, stripe_charge_id="").update(stripe_charge_id=charge_id)
    return False


def record_anomaly(payment: StripePayment, reason: str, *, order: Order | None = None) -> None:
    """Keep an object that does not belong where it claims, once, for an operator to see."""
    log.warning(
        "payment anomaly",
        extra={
            "object_type": payment.object_type,
            "stripe_id": payment.id,
            "order_id": order.pk if order else payment.order_id,
            "reason": reason,
        },
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
