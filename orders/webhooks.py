"""POST /api/stripe/webhook/: Stripe tells us what happened to a payment.

The signature is checked over the exact bytes Stripe sent (never a re-serialised body).
Each event is processed once: its id is stored under a unique constraint in the same
transaction as the order change, so a redelivery, even one racing the first delivery,
is acknowledged with 200 and changes nothing. Errors that retrying cannot fix are
acknowledged too: a 500 would only make Stripe retry for days.
"""

import logging

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import payments, services
from orders.models import StripeEvent
from stripedemo.errors import error_response

log = logging.getLogger("orders.webhooks")

HANDLED_EVENTS = frozenset(
    {
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
    }
)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    event = payments.verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    if event is None:
        log.warning("webhook refused: missing or invalid Stripe-Signature")
        return error_response("Invalid or missing Stripe signature.", status=400)
    outcome = process_event(event)
    log.info("webhook event=%s type=%s outcome=%s", event.get("id"), event.get("type"), outcome)
    return JsonResponse({"received": True, "outcome": outcome})


def process_event(event):
    """Apply one verified event. Returns what happened: processed, duplicate, ignored…"""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event["id"], type=event["type"])
        except IntegrityError:
            return "duplicate"
        if event["type"] not in HANDLED_EVENTS:
            return "ignored"
        request_info = event.get("request") or {}
        order_id = services.settle_from_stripe(
            event["data"]["object"], idempotency_key=request_info.get("idempotency_key")
        )
        if order_id is None:
            return "unknown_order"
        record.order_id = order_id
        record.save(update_fields=["order"])
        return "processed"
