"""POST /api/stripe/webhook/: Stripe tells us what happened to a payment.

The signature is checked over the exact bytes Stripe sent (never a re-serialised body).
Each event is processed once: its id is stored under a unique constraint in the same
transaction as the order change, so a redelivery, even one racing the first delivery,
is acknowledged with 200 and changes nothing. What the event says is applied through
`settlement.settle_from_stripe`, which checks that the object is really the order's.
Errors that retrying cannot fix are acknowledged too: a 500 would only make Stripe
retry for days.
"""

import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import payments
from orders.models import StripeEvent
from orders.settlement import settle_from_stripe
from stripedemo.errors import error_response

log = logging.getLogger("orders.webhooks")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    event = payments.verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    if event is None:
        log.warning("webhook refused: missing or invalid Stripe-Signature")
        return error_response("Invalid or missing Stripe signature.", status=400)
    outcome = process_event(event)
    log.info("webhook event=%s type=%s outcome=%s", event.id, event.type, outcome)
    return JsonResponse({"received": True, "outcome": outcome})


def process_event(event: payments.WebhookEvent) -> str:
    """Apply one verified event. Returns what happened: processed, duplicate, ignored…"""
    if not event.id or not event.type:
        return "ignored"
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event.id, type=event.type)
        except IntegrityError:
            return "duplicate"
        if event.type not in payments.HANDLED_EVENTS or event.payment is None:
            return "ignored"
        order_id = settle_from_stripe(event.payment, request_key=event.request_key)
        if order_id is None:
            return "unknown_order"
        record.order_id = order_id
        record.save(update_fields=["order"])
        return "processed"
