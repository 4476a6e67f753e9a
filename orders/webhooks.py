"""POST /api/stripe/webhook/: Stripe tells us what happened to a payment.

The signature is checked over the exact bytes Stripe sent (never a re-serialised body).
Each event is processed once: its id is stored under a unique constraint in the same
transaction as the order change, so a redelivery, even one racing the first delivery,
is acknowledged with 200 and changes nothing. What the event says is applied through
`settlement.settle_from_stripe`, which checks that the object is really the order's.
Errors that retrying cannot fix are acknowledged too: a 500 would only make Stripe
retry for days. So is a signed event of a shape the shop does not expect (no id, no
type, an object it does not read, an id too long to be Stripe's): "ignored".
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

# StripeEvent.event_id's length: the longest id the shop can store to process it once.
EVENT_ID_MAX_LENGTH = payments.STRIPE_ID_MAX_LENGTH


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    event = payments.verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    if event is None:
        log.warning("webhook refused: missing or invalid Stripe-Signature, or no JSON text")
        return error_response("Invalid or missing Stripe signature.", status=400)
    outcome = process_event(event)
    if len(event.id) > EVENT_ID_MAX_LENGTH:  # one line, never the id or the body itself
        log.warning(
            "webhook event ignored: its id is too long",
            extra={"event_id_length": len(event.id), "event_type": event.type[:100]},
        )
    else:
        log.info(
            "webhook event received",
            extra={"event_id": event.id, "event_type": event.type[:100], "outcome": outcome},
        )
    return JsonResponse({"received": True, "outcome": outcome})


def process_event(event: payments.WebhookEvent) -> str:
    """Apply one verified event. Returns what happened: processed, duplicate, ignored…"""
    if not event.id or not event.type:
        return "ignored"
    if len(event.id) > EVENT_ID_MAX_LENGTH:
        # Not an id of Stripe's (evt_ and 24 to 30 characters). Cut to fit, two such
        # ids would be one, and the second event dropped as a duplicate of the first.
        return "ignored"
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event.id, type=event.type[:100])
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
