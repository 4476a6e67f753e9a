"""Refunding an order: every payment that succeeded for it, each exactly once."""

from __future__ import annotations

import uuid

from django.db import transaction

from orders import payments
from orders.checkout import OrderConflict
from orders.models import Order, PaymentAttempt
from orders.settlement import transition

Status = Order.Status


def refund_order(*, order: Order) -> Order:
    """Refund a paid order in full through Stripe and mark it REFUNDED.

    Every succeeded payment of the order is refunded: its PaymentIntent, and each charge
    an attempt made. The refund key's stem is saved on the order first, and each
    refund's key is that stem and the refunded object's id, so two clicks, a retry or two
    operators at once make one refund per payment. Raises OrderConflict for an order
    that is not paid, and a payments.PaymentError when Stripe refuses or is unreachable.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == Status.REFUNDED:
            raise OrderConflict(f"Order {order.pk} is already refunded.", order)
        if order.status != Status.PAID:
            raise OrderConflict(
                f"Order {order.pk} is {order.status}; only paid orders can be refunded.", order
            )
        if not order.refund_idempotency_key:
            order.refund_idempotency_key = f"order-{order.pk}-refund-{uuid.uuid4().hex[:12]}"
            order.save(update_fields=["refund_idempotency_key"])
    refund_ids = [
        payments.create_refund(
            order_id=order.pk,
            idempotency_key=f"{order.refund_idempotency_key}-{target}",
            **{field: target},
        )
        for field, target in _succeeded_payments(order)
    ]
    transition(order.pk, Status.REFUNDED, stripe_refund_id=",".join(refund_ids)[:255])
    order.refresh_from_db()
    return order


def _succeeded_payments(order: Order) -> list[tuple[str, str]]:
    """("payment_intent_id" or "charge_id", id) for each payment that took money: what
    each succeeded attempt paid with, or else what the order was settled with."""
    targets: dict[tuple[str, str], None] = {}
    succeeded = order.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED).order_by("number")
    for attempt in succeeded:
        if attempt.kind == PaymentAttempt.Kind.PAYMENT_INTENT:
            target = ("payment_intent_id", attempt.stripe_id or order.stripe_payment_intent_id)
        else:
            target = ("charge_id", attempt.stripe_id)
        if target[1]:
            targets[target] = None
    if not targets and order.stripe_payment_intent_id:
        targets[("payment_intent_id", order.stripe_payment_intent_id)] = None
    elif not targets and order.stripe_charge_id:
        targets[("charge_id", order.stripe_charge_id)] = None
    return list(targets)
