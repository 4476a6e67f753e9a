"""Client Idempotency-Key on every POST that moves money, modelled on Stripe's own.

A request claims its key by inserting an `IdempotencyRecord` (unique on user and key,
compared byte for byte, so the database, not this process, decides who is first,
across workers and machines) in the same transaction that places its order or starts
its attempt: the key costs the request no write of its own, and it names an order
exactly when that order exists. When Stripe's outcome is applied, the client's answer
is saved with it, in that same transaction. A later request with the same key and body
gets the saved answer replayed, one with another body gets 422, and one arriving while
the first is still running gets 409 rather than a second charge. A request that finds
the key taken learns it from the database's refusal: its own transaction is undone, so
it placed and paid nothing.

A request answered without placing or paying anything (a refusal: the order is
already paid, say) saves its answer under the key too; one refused as invalid input
does not, so the client may correct it and send it again.

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
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from orders.attempts import attempt_lease
from orders.models import IdempotencyRecord
from stripedemo.errors import error_body

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

    from orders.checkout import PaymentResult
    from orders.models import Order
    from orders.views import PaymentView

KEY_MAX_LENGTH = 255


class KeyTaken(Exception):
    """Another request holds this Idempotency-Key (or held it, and was answered)."""


def fingerprint(path: str, data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


class KeyClaim:
    """A request's Idempotency-Key, claimed by the transaction that places or pays under
    it (see orders.checkout.ClientKey) and answered by the one that applies Stripe's
    outcome."""

    def __init__(
        self,
        user: User,
        key: str,
        request_fingerprint: str,
        respond: Callable[[PaymentResult], Response],
    ) -> None:
        self.user = user
        self.key = key
        self.request_fingerprint = request_fingerprint
        self._respond = respond
        self.record: IdempotencyRecord | None = None
        # The answer saved under the key, once there is one.
        self.response: Response | None = None

    def take(self, order: Order | None, response: Response | None = None) -> None:
        """Insert the key's record in the caller's transaction; raises KeyTaken when
        another request has it. The caller's transaction is then left to roll back, so
        that nothing it wrote stays without the key."""
        answer = {}
        if response is not None:
            answer = {"response_status": response.status_code, "response_body": response.data}
        try:
            self.record = IdempotencyRecord.objects.create(
                user=self.user,
                key=self.key,
                request_fingerprint=self.request_fingerprint,
                order=order,
                **answer,
            )
        except IntegrityError as taken:
            raise KeyTaken(self.key) from taken
        self.response = response

    def answer(self, result: PaymentResult) -> None:
        """Save the client's answer to `result` (in the caller's transaction)."""
        self.save(self._respond(result))

    def save(self, response: Response) -> None:
        if self.record is None:
            raise RuntimeError(f"Idempotency-Key {self.key!r} answered before it was taken")
        IdempotencyRecord.objects.filter(pk=self.record.pk).update(
            response_status=response.status_code, response_body=response.data
        )
        self.response = response

    def existing(self) -> IdempotencyRecord | None:
        return IdempotencyRecord.objects.filter(user=self.user, key=self.key).first()


def _died(record: IdempotencyRecord) -> bool:
    """No answer was saved within the time a request may take: its request is gone."""
    return record.response_status is None and record.created < timezone.now() - attempt_lease()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """For a DRF view method that moves money: honour the request's Idempotency-Key.

    The method finds the key in `request.idempotency` (None without one), hands it to
    the use case that places or pays (which takes and answers it), and returns
    `claim.response` when there is one. `view.answer(request, result)` renders a
    payment's answer; `view.current_state(request, order)` answers a replay whose first
    answer is not worth repeating (see the module's docstring).
    """

    @functools.wraps(handler)
    def wrapper(view: PaymentView, request: Request, *args: Any, **kwargs: Any) -> Response:
        request.idempotency = None  # type: ignore[attr-defined]
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not 0 < len(key) <= KEY_MAX_LENGTH:
            return Response(
                error_body("The Idempotency-Key header must be 1 to 255 characters."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        claim = KeyClaim(
            request.user,  # type: ignore[arg-type]  # a PaymentView: IsAuthenticated
            key,
            fingerprint(request.path, request.data),
            respond=functools.partial(view.answer, request),
        )
        request.idempotency = claim  # type: ignore[attr-defined]
        try:
            response = handler(view, request, *args, **kwargs)
        except KeyTaken:
            return _replay(view, request, claim)
        except ValidationError:
            # Invalid now, yet maybe the first request with this key was not (its
            # product is no longer for sale, say): that request's answer stands.
            if claim.existing() is None:
                raise
            return _replay(view, request, claim)
        if claim.record is None:
            # Answered without placing or paying anything: a refusal, saved as the key's.
            try:
                claim.take(None, response)
            except KeyTaken:
                return _replay(view, request, claim)
        elif claim.response is None:  # taken, and answered some other way
            claim.save(response)
        return response

    return wrapper


def _replay(view: PaymentView, request: Request, claim: KeyClaim) -> Response:
    record = claim.existing()
    if record is None:  # forgotten in between (its request placed nothing)
        return Response(
            error_body("The first request with this key placed no order; send it again."),
            status=status.HTTP_409_CONFLICT,
        )
    if record.request_fingerprint != claim.request_fingerprint:
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
