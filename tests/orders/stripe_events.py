"""Stripe webhook deliveries built by hand for tests: a body and its Stripe-Signature.

Signed exactly as Stripe documents: v1 = HMAC-SHA256(secret, "<timestamp>.<body>").
"""

import hashlib
import hmac
import itertools
import json
import time

_ids = itertools.count(1)


def attempt_key(order_id):
    """The idempotency key of the token charge attempt tests give an order (see
    `charge_attempt_for`): a charge is the order's only when it carries this key."""
    return f"order-{order_id}-charge-1-test"


def charge_attempt_for(order):
    """A token charge attempt on `order`, as if the shop had sent it to Stripe."""
    from orders.models import PaymentAttempt

    return PaymentAttempt.objects.create(
        order=order,
        number=1,
        kind=PaymentAttempt.Kind.CHARGE,
        payment_source="tok_visa",
        idempotency_key=attempt_key(order.pk),
    )


def charge(order_id, status="succeeded", refunded=False, charge_id=None, **fields):
    """A charge made by the order's charge attempt, as Stripe sends it in an event."""
    return {
        "id": charge_id or f"ch_test_{next(_ids)}",
        "object": "charge",
        "amount": 1999,
        "currency": "usd",
        "status": status,
        "paid": status == "succeeded",
        "refunded": refunded,
        "amount_refunded": 1999 if refunded else 0,
        "failure_code": "card_declined" if status == "failed" else None,
        "failure_message": "Your card was declined." if status == "failed" else None,
        "metadata": {"order_id": str(order_id), "idempotency_key": attempt_key(order_id)},
        "payment_intent": None,
        **fields,
    }


def event(event_type, data_object, event_id=None, idempotency_key=None):
    return {
        "id": event_id or f"evt_test_{next(_ids)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "request": {"id": None, "idempotency_key": idempotency_key},
        "data": {"object": data_object},
    }


def sign(body: bytes, secret, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def deliver(client, payload, secret, timestamp=None, signature=None):
    """POST an event to the shop's webhook the way Stripe does."""
    body = json.dumps(payload).encode()
    header = signature if signature is not None else sign(body, secret, timestamp)
    return client.generic(
        "POST",
        "/api/stripe/webhook/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": header} if header else {},
    )
