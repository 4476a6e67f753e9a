"""Client Idempotency-Key on every POST that moves money, modelled on Stripe's own.

The first request with a key claims it by inserting an `IdempotencyRecord` (unique on
user and key, compared byte for byte, so the database, not this process, decides who
is first, across workers and machines). When it has answered, its status and body are
saved; a later request with the same key and body gets them replayed, one with another
body gets 422, and one arriving while the first is still running gets 409 rather than
a second charge.

A key never sticks: when the first request died (no answer saved after the attempt
lease) or answered 503 (the outcome was unknown), a replay answers with the order's
current state, settled from Stripe, instead. And a key is never forgotten while it has
an order, so the same key can never place and charge a second order.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from orders.attempts import attempt_lease
from orders.models import IdempotencyRecord
from stripedemo.errors import error_body

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

    from orders.models import Order
    from orders.views import PaymentView

KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """What the database said about a key: ours to run, or someone else's."""

    record: IdempotencyRecord
    first: bool


def fingerprint(path: str, data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


def claim(user: User, key: str, request_fingerprint: str, order: Order | None = None) -> Claim:
    """Insert the record for `key`, or return the one that is there.

    A record whose request died before it placed an order is taken over.
    """
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, request_fingerprint=request_fingerprint, order=order
                )
            return Claim(record, first=True)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:
            continue  # forgotten in between: claim it again
        if existing.order_id is None and _died(existing):
            IdempotencyRecord.objects.filter(pk=existing.pk, order__isnull=True).delete()
            continue
        return Claim(existing, first=False)
    raise IntegrityError(f"could not claim Idempotency-Key {key!r}")


def _died(record: IdempotencyRecord) -> bool:
    """No answer was saved within the time a request may take: its request is gone."""
    return record.response_status is None and record.created < timezone.now() - attempt_lease()


def finish(record: IdempotencyRecord, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_body=response.data
    )


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """For a DRF view method that moves money: honour the request's Idempotency-Key.

    The method finds the claimed record in `request.idempotency_record` (None without a
    key). `current_state(request, record)` on the view answers a replay whose first
    answer is not worth repeating (see the module's docstring).
    """

    @functools.wraps(handler)
    def wrapper(view: PaymentView, request: Request, *args: Any, **kwargs: Any) -> Response:
        request.idempotency_record = None  # type: ignore[attr-defined]
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not 0 < len(key) <= KEY_MAX_LENGTH:
            return Response(
                error_body("The Idempotency-Key header must be 1 to 255 characters."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        found = claim(
            request.user,  # type: ignore[arg-type]  # a PaymentView: IsAuthenticated
            key,
            fingerprint(request.path, request.data),
            order=view.order_for_key(request, *args, **kwargs),
        )
        record = found.record
        if not found.first:
            return _replay(view, request, record)
        request.idempotency_record = record  # type: ignore[attr-defined]
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception:
            # Nothing was placed or paid under the key: the client may send it again.
            IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()
            raise
        finish(record, response)
        return response

    return wrapper


def _replay(view: PaymentView, request: Request, record: IdempotencyRecord) -> Response:
    if record.request_fingerprint != fingerprint(request.path, request.data):
        return Response(
            error_body(
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new purchase."
            ),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    settled_answer = record.response_status not in (None, 503) and record.response_body
    if settled_answer:
        return Response(
            record.response_body,
            status=record.response_status,
            headers={"Idempotent-Replayed": "true"},
        )
    if record.response_status is None and not _died(record):
        extra: dict[str, Any] = {"order_id": record.order_id} if record.order_id else {}
        return Response(
            error_body(
                "A request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its result.",
                **extra,
            ),
            status=status.HTTP_409_CONFLICT,
        )
    if record.order is None:  # answered 503 before placing anything: nothing to show
        IdempotencyRecord.objects.filter(pk=record.pk, order__isnull=True).delete()
        return Response(
            error_body("The first request with this key placed no order; send it again."),
            status=status.HTTP_409_CONFLICT,
        )
    response = view.current_state(request, record.order)
    response["Idempotent-Replayed"] = "true"
    return response
