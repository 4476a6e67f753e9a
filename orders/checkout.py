"""What happens when a shopper pays: place and pay, pay again with another card, confirm.

Each use case is one function returning a `PaymentResult` that the view only turns into
HTTP. The rules that keep money safe on second attempts:

- One PaymentIntent per order, ever. Its idempotency key is chosen when the order is
  placed (or, for an order first tried with a token, under the order's row lock) and
  saved before Stripe is asked; every card confirms that PaymentIntent.
- An order takes a new attempt only under its row lock, and never while an earlier
  attempt's outcome is unknown: that one is first settled from Stripe.
- A failed order is paid again only at the price and product it was placed with.

What a payment costs the database (issue 13, tests/orders/test_order_cost.py): one
write transaction before Stripe is called (the order, its attempt, and the client's
Idempotency-Key claimed with them) and one after (the outcome, applied to the attempt
and order in hand, and the client's answer saved with it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from catalog.currency import amount_in_smallest_unit
from orders import attempts, payments
from orders.models import Order, PaymentAttempt
from orders.settlement import UNSETTLED_ATTEMPTS, settle_from_stripe

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from catalog.models import Product

Status = Order.Status

# The failure codes after which an order's PaymentIntent can never be paid.
UNPAYABLE_FAILURES = frozenset({"canceled", "abandoned"})


class OrderConflict(Exception):
    """The order cannot take this request in its present state (paid, being paid, …)."""

    def __init__(self, message: str, order: Order) -> None:
        super().__init__(message)
        self.message = message
        self.order = order


@dataclass(frozen=True)
class PaymentResult:
    """An order after a payment request: its state says paid, failed or pending."""

    order: Order
    # The bank waits for the shopper's 3-D Secure step: Stripe.js needs this.
    client_secret: str = ""
    # Why Stripe did not move the money, when it said so (or could not be reached).
    error: payments.PaymentError | None = None


class ClientKey(Protocol):
    """The client's Idempotency-Key on a payment request (orders.idempotency.KeyClaim).

    Taken in the transaction that places the order or starts its attempt (it raises,
    and so undoes them, when another request holds the key), and answered in the one
    that applies Stripe's outcome: the key never names an order that was not placed,
    nor an outcome without its answer.
    """

    def take(self, order: Order) -> None: ...

    def answer(self, result: PaymentResult) -> None: ...


def _new_key(order_id: int, operation: str, number: int = 1) -> str:
    # Our own ids and the operation make the key readable and unique per endpoint; the
    # random part keeps it unique across databases that share one Stripe account (a
    # reset development database, staging and live).
    return f"order-{order_id}-{operation}-{number}-{uuid.uuid4().hex[:12]}"


def _payment_intent_key(user_id: int) -> str:
    # Chosen before the order has an id, so that the order is inserted with it: the
    # shopper's id and a whole uuid keep it unique (the PaymentIntent's metadata names
    # the order).
    return f"user-{user_id}-create_payment_intent-{uuid.uuid4().hex}"


def place_order(
    *, user: User, product: Product, quantity: int, payment_intent_key: str = ""
) -> Order:
    """A PENDING order at today's price, with no attempt yet.

    Raises ValueError when the price cannot be charged (catalog.currency); the order
    serializer refuses such a product before it gets here.
    """
    return Order.objects.create(
        user=user,
        product=product,
        quantity=quantity,
        amount=amount_in_smallest_unit(product.price, quantity, product.currency),
        currency=product.currency,
        status=Status.PENDING,
        payment_intent_key=payment_intent_key,
    )


SourceType = PaymentAttempt.SourceType


@dataclass(frozen=True)
class PaymentSource:
    """What the shopper pays with: a token, a PaymentMethod or a ConfirmationToken."""

    type: PaymentAttempt.SourceType
    value: str


def order_page_url(frontend_url: str, order_id: int) -> str:
    """The order's page on the shop's front end (served at `frontend_url`), where a
    payment method that leaves the page brings the shopper back. Its query is only a
    pointer: the page asks the shop (confirm/) how the order stands."""
    return f"{frontend_url.rstrip('/')}/?order={int(order_id)}"


def place_and_pay(
    *,
    user: User,
    product: Product,
    quantity: int,
    source: PaymentSource,
    frontend_url: str,
    client_key: ClientKey | None = None,
) -> PaymentResult:
    """Place an order and pay it with a token (Charges), or a PaymentMethod or a
    ConfirmationToken (the order's PaymentIntent).

    The order, its first attempt (with its keys and return_url, the order's page on
    `frontend_url`) and the client's Idempotency-Key are written in one transaction,
    before Stripe is asked.
    """
    by_token = source.type == SourceType.TOKEN
    kind = PaymentAttempt.Kind.CHARGE if by_token else PaymentAttempt.Kind.PAYMENT_INTENT
    intent_key = "" if by_token else _payment_intent_key(user.pk)
    with transaction.atomic():
        order = place_order(
            user=user, product=product, quantity=quantity, payment_intent_key=intent_key
        )
        if client_key is not None:
            client_key.take(order)
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=1,
            kind=kind,
            payment_source=source.value,
            source_type=source.type,
            return_url="" if by_token else order_page_url(frontend_url, order.pk),
            idempotency_key=_new_key(order.pk, kind),
        )
    return _pay(attempt, client_key)


def pay_again(
    *,
    order: Order,
    source: PaymentSource,
    frontend_url: str,
    client_key: ClientKey | None = None,
) -> PaymentResult:
    """Another way to pay an order that failed (or whose bank step the shopper gave up):
    a PaymentMethod or a ConfirmationToken, confirming the order's PaymentIntent.

    Raises OrderConflict when the order is paid, still being paid (or processed by
    Stripe), or no longer payable at the price it was placed with.
    """
    if source.type == SourceType.TOKEN:
        raise ValueError("an order is paid again through its PaymentIntent, never a token")
    _refuse_unless_payable(order)
    # An earlier attempt whose answer was lost is settled first: it may have paid.
    try:
        attempts.settle_unknown_attempts(order)
    except payments.PaymentUnavailable:
        pass  # still unknown: refused below
    attempt = _start_attempt(
        order.pk, source=source, frontend_url=frontend_url, client_key=client_key
    )
    return _pay(attempt, client_key)


def payable_again_refusal(order: Order) -> str:
    """Why another card may not pay this order, or "" when it may."""
    if order.status in (Status.PAID, Status.REFUNDED):
        return f"Order {order.pk} is already {order.status.lower()}."
    product = order.product
    try:
        price_now = amount_in_smallest_unit(product.price, order.quantity, product.currency)
    except ValueError:  # a price the currency cannot charge: not for sale as it is
        price_now = None
    same_price = product.active and product.currency == order.currency
    if not same_price or price_now != order.amount:
        return (
            f"{product.name} is no longer for sale at the price of order {order.pk}; "
            "please place a new order."
        )
    if order.failure_code in UNPAYABLE_FAILURES:
        return f"Order {order.pk} can no longer be paid; please place a new order."
    return ""


def _refuse_unless_payable(order: Order) -> None:
    refusal = payable_again_refusal(order)
    if refusal:
        raise OrderConflict(refusal, order)


def _start_attempt(
    order_id: int, *, source: PaymentSource, frontend_url: str, client_key: ClientKey | None
) -> PaymentAttempt:
    """Save the order's next attempt under its row lock, and commit it."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("product").get(pk=order_id)
        if order.status in (Status.PAID, Status.REFUNDED):
            raise OrderConflict(f"Order {order.pk} is already {order.status.lower()}.", order)
        previous = list(order.attempts.order_by("number"))
        if any(attempt.status in UNSETTLED_ATTEMPTS for attempt in previous):
            raise OrderConflict(
                f"Order {order.pk} is still being paid; we are confirming the outcome "
                "with Stripe. Please wait a moment.",
                order,
            )
        if any(attempt.status == PaymentAttempt.Status.PROCESSING for attempt in previous):
            # Stripe has the order's payment and decides later (a bank debit): a second
            # try could pay the order twice over, and Stripe would refuse it anyway.
            raise OrderConflict(
                f"Order {order.pk} is being processed by Stripe; we will confirm the "
                "payment as soon as it settles.",
                order,
            )
        if client_key is not None:
            client_key.take(order)
        if not order.payment_intent_key:
            order.payment_intent_key = _payment_intent_key(order.user_id)
            order.save(update_fields=["payment_intent_key"])
        if any(attempt.status == PaymentAttempt.Status.REQUIRES_ACTION for attempt in previous):
            # A card whose bank step was left unfinished gives way to this one.
            order.attempts.filter(status=PaymentAttempt.Status.REQUIRES_ACTION).update(
                status=PaymentAttempt.Status.FAILED, failure_code="superseded"
            )
        number = len(previous) + 1
        return PaymentAttempt.objects.create(
            order=order,
            number=number,
            kind=PaymentAttempt.Kind.PAYMENT_INTENT,
            payment_source=source.value,
            source_type=source.type,
            return_url=order_page_url(frontend_url, order.pk),
            idempotency_key=_new_key(order.pk, PaymentAttempt.Kind.PAYMENT_INTENT, number),
        )


def _pay(attempt: PaymentAttempt, client_key: ClientKey | None) -> PaymentResult:
    """Ask Stripe (no transaction open), then apply its answer to the attempt and order
    in hand and save the client's answer, in one transaction."""
    answer = attempts.ask_stripe(attempt)
    client_secret = answer.payment.client_secret if answer.payment is not None else ""
    with transaction.atomic():
        if attempts.record_answer(attempt, answer):
            order = attempt.order
            # This attempt was the order's only open one (it started under the order's
            # row lock, which refuses a second), and settled attempts never reopen.
            order.has_unsettled_attempt = attempt.status in UNSETTLED_ATTEMPTS
            order.has_processing_attempt = attempt.status == PaymentAttempt.Status.PROCESSING
        else:
            order = _reload(attempt.order_id)
        result = PaymentResult(order=order, client_secret=client_secret, error=answer.error)
        if client_key is not None:
            client_key.answer(result)
    return result


def confirm_order(*, order: Order) -> PaymentResult:
    """Settle an order from Stripe as it is now (never from what the browser says).

    Asked after the bank's 3-D Secure step and while the page waits for a lost answer,
    so it may be asked every second: within ORDER_CONFIRM_INTERVAL of the last time it
    asked Stripe about this order it answers from the database (see _looked_enough).
    """
    if order.status in (Status.PAID, Status.REFUNDED):
        return PaymentResult(order=_reload(order.pk))
    if _looked_enough(order):
        return PaymentResult(order=_reload(order.pk))
    client_secret = ""
    try:
        attempts.settle_unknown_attempts(order)
        order.refresh_from_db(fields=["stripe_payment_intent_id", "status"])
        if order.stripe_payment_intent_id and order.status != Status.PAID:
            intent = payments.retrieve_payment_intent(order.stripe_payment_intent_id)
            settle_from_stripe(intent)
            client_secret = intent.client_secret
    except payments.PaymentError as error:
        return PaymentResult(order=_reload(order.pk), error=error)
    return PaymentResult(order=_reload(order.pk), client_secret=client_secret)


def _looked_enough(order: Order) -> bool:
    """Stripe was asked about this order enough times within ORDER_CONFIRM_INTERVAL.

    Once per interval; twice while the bank waits for the shopper, whose step may have
    ended just after the first look (the page asks again as soon as it has).
    """
    key = f"orders:confirm:{order.pk}"
    cache.add(key, 0, settings.ORDER_CONFIRM_INTERVAL)
    try:
        looks = cache.incr(key)
    except ValueError:  # the interval ended in between
        return False
    waiting_on_shopper = order.attempts.filter(status=PaymentAttempt.Status.REQUIRES_ACTION)
    return looks > (2 if waiting_on_shopper.exists() else 1)


def _reload(order_id: int) -> Order:
    return Order.objects.with_payment_state().get(pk=order_id)
