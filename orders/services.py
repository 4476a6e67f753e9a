"""Every change of an order's state happens here.

Talking to Stripe never happens inside an open database transaction: an attempt is
saved (and committed) with its idempotency key first, Stripe is called, and its answer
is applied in a new short transaction through `transition`, a conditional UPDATE that
only ever moves an order forward. So the synchronous response, a webhook (even a late
or repeated one) and a reconcile run can all race safely.
"""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from orders import payments
from orders.models import Order, PaymentAttempt

log = logging.getLogger("orders")

Status = Order.Status

# Which states each state may be reached from. Nothing leaves REFUNDED; PAID is left
# only for REFUNDED. REFUNDED may be reached straight from PENDING or FAILED when
# Stripe tells us about a refund of a charge we had not yet seen succeed.
ALLOWED_FROM = {
    Status.PAID: (Status.PENDING, Status.FAILED),
    Status.FAILED: (Status.PENDING,),
    Status.REFUNDED: (Status.PENDING, Status.FAILED, Status.PAID),
}

# Currencies Stripe counts in whole units (no cents), from Stripe's documentation.
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)

# Stripe forgets idempotency keys after 24 hours; past that, repeating an attempt with
# its key could charge again, so reconciliation only looks the charge up.
STRIPE_KEY_LIFETIME = timedelta(hours=23)


class OrderError(Exception):
    """A request about an order that cannot be carried out (shown to the client)."""

    def __init__(self, message, http_status=400):
        super().__init__(message)
        self.message = message
        self.http_status = http_status


def amount_in_smallest_unit(price: Decimal, quantity: int, currency: str) -> int:
    """price × quantity in cents (or whole units), exactly: Decimal, never float."""
    exponent = 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2
    amount = price * quantity * (10**exponent)
    if amount != amount.to_integral_value():
        raise ValueError(f"{price} {currency} has more decimals than the currency allows")
    return int(amount)


def place_order(*, user, product, quantity):
    return Order.objects.create(
        user=user,
        product=product,
        quantity=quantity,
        amount=amount_in_smallest_unit(product.price, quantity, product.currency),
        currency=product.currency,
        status=Status.PENDING,
    )


def transition(order_id, to_status, **fields):
    """Move an order to `to_status` if its current state allows it. True if it moved."""
    moved = Order.objects.filter(pk=order_id, status__in=ALLOWED_FROM[to_status]).update(
        status=to_status, updated=timezone.now(), **fields
    )
    if moved:
        log.info("order_id=%s status=%s", order_id, to_status)
    return bool(moved)


def start_attempt(order, *, kind, payment_source):
    """Save the next payment attempt with a fresh Stripe idempotency key, and commit it."""
    with transaction.atomic():
        # Lock the order row so that two attempts on one order get distinct numbers.
        locked = Order.objects.select_for_update().get(pk=order.pk)
        number = (locked.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
        return PaymentAttempt.objects.create(
            order=locked,
            number=number,
            kind=kind,
            payment_source=payment_source,
            # Our own ids and the operation make the key readable and unique per
            # endpoint; the random part keeps it unique across databases that share
            # one Stripe account (a reset development database, staging and live).
            idempotency_key=f"order-{order.pk}-{kind}-{number}-{uuid.uuid4().hex[:12]}",
        )


def _finish_attempt(attempt, status, **fields):
    PaymentAttempt.objects.filter(
        pk=attempt.pk,
        status__in=[PaymentAttempt.Status.STARTED, PaymentAttempt.Status.REQUIRES_ACTION],
    ).update(status=status, updated=timezone.now(), **fields)


def _fail(order, attempt, error):
    """A definite refusal from Stripe: the attempt failed, and a pending order with it."""
    _finish_attempt(
        attempt,
        PaymentAttempt.Status.FAILED,
        stripe_id=error.stripe_id,
        failure_code=error.code,
        failure_message=error.message[:500],
    )
    transition(
        order.pk, Status.FAILED, failure_code=error.code[:100], failure_message=error.message[:500]
    )


def charge_with_token(order, token):
    """Pay an order with a Stripe.js token through the Charges API (the original flow).

    Returns the order, reloaded; raises a `payments.PaymentError` when Stripe declined,
    refused or could not be reached (the order is then FAILED, or still PENDING).
    """
    attempt = start_attempt(order, kind=PaymentAttempt.Kind.CHARGE, payment_source=token)
    run_charge_attempt(attempt)
    order.refresh_from_db()
    return order


def run_charge_attempt(attempt):
    """Send a charge attempt to Stripe (again), with its saved key, and apply the answer."""
    order = attempt.order
    try:
        charge = payments.create_charge(
            amount=order.amount,
            currency=order.currency,
            source=attempt.payment_source,
            order_id=order.pk,
            description=f"Stripe Demo order {order.pk}: {order.quantity} × {order.product.name}",
            idempotency_key=attempt.idempotency_key,
        )
    except (payments.CardDeclined, payments.PaymentRejected, payments.PaymentMisconfigured) as e:
        _fail(order, attempt, e)
        raise
    except payments.PaymentUnavailable:
        log.warning("order_id=%s status=PENDING stripe unavailable, left for reconcile", order.pk)
        raise
    settle_from_stripe(charge, idempotency_key=attempt.idempotency_key)


def settle_from_stripe(stripe_object, idempotency_key=None):
    """Apply what Stripe says about a charge to its order. Safe to repeat, in any order.

    `idempotency_key` is the key of the request that made the object, when known (our
    own call, or the `request` of a webhook event): it names the attempt to update.
    Returns the order id it applied to, or None when the object names no order of ours.
    """
    order_id = _order_id_from_metadata(stripe_object)
    if order_id is None or not Order.objects.filter(pk=order_id).exists():
        log.warning("stripe object %s names no known order", stripe_object.get("id"))
        return None
    if stripe_object.get("object") == "charge":
        _settle_charge(order_id, stripe_object, idempotency_key)
    return order_id


def _settle_charge(order_id, charge, idempotency_key):
    failure = {
        "failure_code": (charge.get("failure_code") or "")[:100],
        "failure_message": (charge.get("failure_message") or "")[:500],
    }
    if charge.get("status") == "succeeded":
        _record_on_attempt(order_id, charge["id"], idempotency_key, PaymentAttempt.Status.SUCCEEDED)
        if charge.get("refunded"):
            transition(order_id, Status.REFUNDED, stripe_charge_id=charge["id"])
        else:
            transition(
                order_id,
                Status.PAID,
                stripe_charge_id=charge["id"],
                failure_code="",
                failure_message="",
            )
    elif charge.get("status") == "failed":
        _record_on_attempt(
            order_id, charge["id"], idempotency_key, PaymentAttempt.Status.FAILED, **failure
        )
        transition(order_id, Status.FAILED, **failure)


def _record_on_attempt(order_id, stripe_id, idempotency_key, status, **fields):
    """Finish the attempt that made this Stripe object, if we know which one it was."""
    attempts = PaymentAttempt.objects.filter(order_id=order_id)
    if idempotency_key:
        attempts = attempts.filter(idempotency_key=idempotency_key)
    else:
        attempts = attempts.filter(stripe_id=stripe_id)
    attempt = attempts.first()
    if attempt is not None:
        _finish_attempt(attempt, status, stripe_id=stripe_id, **fields)


def _order_id_from_metadata(stripe_object):
    raw = (stripe_object.get("metadata") or {}).get("order_id")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
