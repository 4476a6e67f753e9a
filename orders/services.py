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

# Stripe's API words some failures for developers; the shopper reads these instead (the
# wording Stripe.js itself shows).
SHOPPER_MESSAGES = {
    "payment_intent_authentication_failure": (
        "We are unable to authenticate your payment method. "
        "Please choose a different payment method and try again."
    ),
}

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
    if error.payment_intent_id:
        _remember_payment_intent(order.pk, error.payment_intent_id)
    _finish_attempt(
        attempt,
        PaymentAttempt.Status.FAILED,
        stripe_id=error.payment_intent_id or error.stripe_id,
        failure_code=error.code,
        failure_message=error.message[:500],
    )
    _order_failed(order.pk, failure_code=error.code, failure_message=error.message)


def _order_failed(order_id, *, failure_code, failure_message):
    """A pending order fails; one that had failed already shows the newest reason."""
    fields = {"failure_code": failure_code[:100], "failure_message": failure_message[:500]}
    if not transition(order_id, Status.FAILED, **fields):
        Order.objects.filter(pk=order_id, status=Status.FAILED).update(
            updated=timezone.now(), **fields
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
    charge = _ask_stripe(
        order,
        attempt,
        lambda: payments.create_charge(
            amount=order.amount,
            currency=order.currency,
            source=attempt.payment_source,
            order_id=order.pk,
            description=_description(order),
            idempotency_key=attempt.idempotency_key,
        ),
    )
    settle_from_stripe(charge, idempotency_key=attempt.idempotency_key)


def _ask_stripe(order, attempt, call):
    """Make an attempt's Stripe call. A definite refusal fails the attempt (and a pending
    order); an unknown outcome leaves both as they are, for reconciliation."""
    try:
        return call()
    except (payments.CardDeclined, payments.PaymentRejected, payments.PaymentMisconfigured) as e:
        _fail(order, attempt, e)
        raise
    except payments.PaymentUnavailable:
        log.warning("order_id=%s status=PENDING stripe unavailable, left for reconcile", order.pk)
        raise


def pay_with_payment_method(order, payment_method):
    """Pay an order with a Stripe.js PaymentMethod through a PaymentIntent.

    Returns `(order, intent)`; the intent may need the shopper's 3-D Secure step
    (`status == "requires_action"`). Raises a `payments.PaymentError` as
    charge_with_token does.
    """
    attempt = start_attempt(
        order, kind=PaymentAttempt.Kind.PAYMENT_INTENT, payment_source=payment_method
    )
    intent = run_payment_intent_attempt(attempt)
    order.refresh_from_db()
    return order, intent


def pay_again(order, payment_method):
    """A new attempt, with another card, on the PaymentIntent of an order that failed."""
    if order.status in (Status.PAID, Status.REFUNDED):
        raise OrderError(f"Order {order.pk} is already {order.status.lower()}.", http_status=409)
    if not order.attempts.filter(kind=PaymentAttempt.Kind.PAYMENT_INTENT).exists():
        raise OrderError(
            "Only orders paid with a payment method can be paid again; place a new order.",
            http_status=409,
        )
    latest = order.attempts.order_by("-number").first()
    if order.status == Status.PENDING and latest.status == PaymentAttempt.Status.STARTED:
        raise OrderError(
            f"Order {order.pk} is still being paid; confirm it or try again shortly.",
            http_status=409,
        )
    return pay_with_payment_method(order, payment_method)


def run_payment_intent_attempt(attempt):
    """Send a PaymentIntent attempt to Stripe (again), with its saved key; apply the answer.

    The order's first such attempt creates and confirms the PaymentIntent; later ones
    confirm that same PaymentIntent with their own card.
    """
    order = Order.objects.select_related("product").get(pk=attempt.order_id)
    # The first attempt always creates (so that repeating it replays its creation); a
    # later one confirms the PaymentIntent, unless Stripe refused to make one at all.
    creates_intent = (
        not order.stripe_payment_intent_id
        or not order.attempts.filter(
            kind=PaymentAttempt.Kind.PAYMENT_INTENT, number__lt=attempt.number
        ).exists()
    )
    if creates_intent:
        intent = _ask_stripe(
            order,
            attempt,
            lambda: payments.create_payment_intent(
                amount=order.amount,
                currency=order.currency,
                payment_method=attempt.payment_source,
                order_id=order.pk,
                description=_description(order),
                idempotency_key=attempt.idempotency_key,
            ),
        )
    else:
        intent = _ask_stripe(
            order,
            attempt,
            lambda: payments.confirm_payment_intent(
                order.stripe_payment_intent_id,
                payment_method=attempt.payment_source,
                idempotency_key=attempt.idempotency_key,
            ),
        )
    PaymentAttempt.objects.filter(pk=attempt.pk).update(stripe_id=intent["id"])
    settle_from_stripe(intent, idempotency_key=attempt.idempotency_key)
    return intent


def refresh_from_payment_intent(order):
    """Settle an order from its PaymentIntent as Stripe has it now (never the browser's word).

    Returns `(order, intent)`; paid, refunded and token orders are returned as they are,
    without asking Stripe, so repeating this is harmless.
    """
    if order.status in (Status.PAID, Status.REFUNDED) or not order.stripe_payment_intent_id:
        return order, None
    intent = payments.retrieve_payment_intent(order.stripe_payment_intent_id)
    settle_from_stripe(intent)
    order.refresh_from_db()
    return order, intent


def settle_from_stripe(stripe_object, idempotency_key=None):
    """Apply what Stripe says about a charge to its order. Safe to repeat, in any order.

    `idempotency_key` is the key of the request that made the object, when known (our
    own call, or the `request` of a webhook event): it names the attempt to update.
    Returns the order id it applied to, or None when the object names no order of ours.
    """
    order_id = _order_id_for(stripe_object)
    if order_id is None:
        log.warning("stripe object %s names no known order", stripe_object.get("id"))
        return None
    if stripe_object.get("object") == "charge":
        _settle_charge(order_id, stripe_object, idempotency_key)
    elif stripe_object.get("object") == "payment_intent":
        _settle_payment_intent(order_id, stripe_object, idempotency_key)
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
        _order_failed(order_id, **failure)


def _settle_payment_intent(order_id, intent, idempotency_key):
    _remember_payment_intent(order_id, intent["id"])
    status = intent.get("status")
    if status == "succeeded":
        _record_on_attempt(order_id, intent["id"], idempotency_key, PaymentAttempt.Status.SUCCEEDED)
        transition(
            order_id,
            Status.PAID,
            stripe_charge_id=intent.get("latest_charge") or "",
            failure_code="",
            failure_message="",
        )
    elif status == "requires_action":
        _record_on_attempt(
            order_id, intent["id"], idempotency_key, PaymentAttempt.Status.REQUIRES_ACTION
        )
    elif status == "canceled" or (
        status == "requires_payment_method" and intent.get("last_payment_error")
    ):
        error = intent.get("last_payment_error") or {}
        code = error.get("code") or "canceled"
        failure = {
            "failure_code": code[:100],
            "failure_message": SHOPPER_MESSAGES.get(code)
            or (error.get("message") or "The payment was canceled.")[:500],
        }
        _record_on_attempt(
            order_id, intent["id"], idempotency_key, PaymentAttempt.Status.FAILED, **failure
        )
        _order_failed(order_id, **failure)


def _remember_payment_intent(order_id, payment_intent_id):
    Order.objects.filter(pk=order_id, stripe_payment_intent_id="").update(
        stripe_payment_intent_id=payment_intent_id
    )


def _record_on_attempt(order_id, stripe_id, idempotency_key, status, **fields):
    """Finish the attempt that made this Stripe object, if we know which one it was.

    The request's idempotency key names it exactly; without one (an event that came
    from the shopper's 3-D Secure step, say) it is the newest attempt on that object.
    """
    attempts = PaymentAttempt.objects.filter(order_id=order_id)
    if idempotency_key:
        attempts = attempts.filter(idempotency_key=idempotency_key)
    else:
        attempts = attempts.filter(stripe_id=stripe_id)
    attempt = attempts.order_by("-number").first()
    if attempt is not None:
        _finish_attempt(attempt, status, stripe_id=stripe_id, **fields)


def _order_id_for(stripe_object):
    """Our order for a Stripe charge or PaymentIntent: by its metadata, else its intent."""
    raw = (stripe_object.get("metadata") or {}).get("order_id")
    orders = Order.objects.none()
    if str(raw or "").isdigit():
        orders = Order.objects.filter(pk=int(raw))
    elif stripe_object.get("object") == "charge" and stripe_object.get("payment_intent"):
        orders = Order.objects.filter(stripe_payment_intent_id=stripe_object["payment_intent"])
    return orders.values_list("pk", flat=True).first()


def _description(order):
    return f"Stripe Demo order {order.pk}: {order.quantity} × {order.product.name}"


def reconcile_order(order):
    """Settle an order left PENDING (a crash between Stripe and us, a 503) from Stripe.

    Stripe's own record of the order's charges comes first. With none there yet, the
    newest attempt is sent again with its saved key — Stripe answers a request it has
    already done with that first result, and does it now if it never got it. Past
    Stripe's key lifetime that would risk a second charge, so such an order fails.
    Returns the order's status afterwards.
    """
    if order.stripe_payment_intent_id:
        order, _ = refresh_from_payment_intent(order)
    else:
        for stripe_object in payments.find_charges_for_order(
            order.pk
        ) + payments.find_payment_intents_for_order(order.pk):
            settle_from_stripe(stripe_object)
        order.refresh_from_db()
    attempt = order.attempts.order_by("-number").first()
    if order.status != Status.PENDING or (
        attempt is not None and attempt.status == PaymentAttempt.Status.REQUIRES_ACTION
    ):
        # Settled, or waiting for the shopper's 3-D Secure step (a webhook will tell).
        return order.status
    if attempt is None or attempt.created < timezone.now() - STRIPE_KEY_LIFETIME:
        transition(
            order.pk,
            Status.FAILED,
            failure_code="not_completed",
            failure_message="The payment was not completed.",
        )
    else:
        run_attempt = (
            run_charge_attempt
            if attempt.kind == PaymentAttempt.Kind.CHARGE
            else run_payment_intent_attempt
        )
        try:
            run_attempt(attempt)
        except payments.PaymentError as error:
            log.info("order_id=%s reconcile: %s", order.pk, error.message)
    order.refresh_from_db()
    return order.status


def refund_order(order):
    """Refund a paid order in full through Stripe and mark it REFUNDED.

    The refund's idempotency key is saved on the order first, so two clicks, a retry
    or two operators at once make one refund. Raises OrderError for an order that is
    not paid, and a payments.PaymentError when Stripe refuses or is unreachable.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == Status.REFUNDED:
            raise OrderError(f"Order {order.pk} is already refunded.", http_status=409)
        if order.status != Status.PAID:
            raise OrderError(
                f"Order {order.pk} is {order.status}; only paid orders can be refunded.",
                http_status=409,
            )
        if not order.refund_idempotency_key:
            order.refund_idempotency_key = f"order-{order.pk}-refund-1-{uuid.uuid4().hex[:12]}"
            order.save(update_fields=["refund_idempotency_key"])
    refund = payments.create_refund(
        charge_id=order.stripe_charge_id,
        payment_intent_id=order.stripe_payment_intent_id,
        order_id=order.pk,
        idempotency_key=order.refund_idempotency_key,
    )
    transition(order.pk, Status.REFUNDED, stripe_refund_id=refund["id"])
    order.refresh_from_db()
    return order
