"""Client Idempotency-Key on POST /api/order/, modelled on Stripe's own.

The first request with a key claims it by inserting an `IdempotencyRecord` (unique on
user and key, so the database, not this process, decides who is first, across workers
and machines). When it has answered, its status and body are saved; a later request
with the same key and body gets them replayed, one with another body gets 422, and one
arriving while the first is still running gets 409 rather than a second charge.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import IdempotencyRecord

KEY_MAX_LENGTH = 255
# Like Stripe, keys may be forgotten after 24 hours.
KEY_LIFETIME = timedelta(hours=24)


class IdempotencyError(Exception):
    def __init__(self, message, http_status, order_id=None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.order_id = order_id


def fingerprint(path, data):
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


def claim(user, key, request_fingerprint):
    """The record to finish if this request is the first with `key`, or a saved answer.

    Returns `(record, None)` for the first request, `(None, (status, body))` to replay;
    raises IdempotencyError for a key reused with another body or still in progress.
    """
    expired = IdempotencyRecord.objects.filter(
        user=user, key=key, created__lt=timezone.now() - KEY_LIFETIME
    )
    expired.delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user, key=key, request_fingerprint=request_fingerprint
            )
        return record, None
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(user=user, key=key)
    if existing.request_fingerprint != request_fingerprint:
        raise IdempotencyError(
            "This Idempotency-Key was already used with a different request; "
            "use a new key for a new purchase.",
            http_status=422,
        )
    if existing.response_status is None:
        raise IdempotencyError(
            "A request with this Idempotency-Key is still being processed; "
            "retry in a moment to get its result.",
            http_status=409,
            order_id=existing.order_id,
        )
    return None, (existing.response_status, existing.response_body)


def attach_order(record, order):
    """Tie the order to its key as soon as it exists, before any money moves."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(order=order)
    record.order = order


def finish(record, status, body):
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=status, response_body=body
    )


def abandon(record):
    """The request failed before it placed an order: let the client retry the key."""
    IdempotencyRecord.objects.filter(pk=record.pk, order__isnull=True).delete()


def forget_expired():
    """Housekeeping (reconcile_orders runs it): drop keys older than their lifetime."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created__lt=timezone.now() - KEY_LIFETIME
    ).delete()
    return deleted
