"""Limits on payment attempts, so that the shop is no free card-testing service.

Every POST that may reach Stripe with a card (placing an order, paying it again) counts
against the shopper and against the client's address (confirm/, which only looks
payments up, has a generous limit of its own); a shopper whose cards were
declined several times within the hour is held back further until the hour has passed.
Counts live in the cache, which production shares between instances (Redis or the
database). A refusal is a 429 with Retry-After and a sentence for the shopper.

The three limits of a payment request are read from the cache together and written
together (`PaymentThrottles`): with the database cache each count would otherwise cost
a query and a write transaction of its own, on every payment. That one transaction is
run again when MySQL ends it as a deadlock (`_in_one_transaction`).
"""

from __future__ import annotations

import logging
import math
import random
import time
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import OperationalError, connections, router, transaction
from django.db.transaction import TransactionManagementError
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from stripedemo.throttling import ClientAddressThrottleMixin

log = logging.getLogger("orders.throttling")

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.request import Request
    from rest_framework.views import APIView

T = TypeVar("T")

TOO_MANY = "Too many payment attempts. Please wait {seconds} seconds before trying again."
TOO_MANY_DECLINES = (
    "Several of your cards were declined, so payments are paused for your account. "
    "Please wait {minutes} minutes before trying again."
)


class PaymentThrottle(SimpleRateThrottle):
    message = TOO_MANY
    setting: str  # the name of the setting that holds the rate, in each subclass
    # Whether each request allowed counts toward the limit (DeclineThrottle's does not).
    counts_requests = True

    def get_rate(self) -> str:
        # Read at request time, so that the limit is a plain setting (and testable).
        return getattr(settings, self.setting)

    def get_cache_key(self, request: Request, view: APIView | None) -> str | None:
        """The key of this request's count (record_decline counts with no view)."""
        raise NotImplementedError

    def prepare(self, request: Request, view: APIView | None) -> str | None:
        """Read the rate, and return the cache key of this request's count (None: no limit)."""
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view) if self.rate is not None else None
        return self.key

    def allows(self, history: list[float], now: float) -> bool:
        """Whether the limit lets one more request through, given its count's history
        (newest first); `self.history` is then that history with this request in it."""
        self.now = now
        # duration is None only for a None rate, which prepare() leaves without a key.
        self.history = [moment for moment in history if moment > now - self.duration]  # type: ignore[operator]
        if len(self.history) >= self.num_requests:  # type: ignore[operator]
            return False
        if self.counts_requests:
            self.history.insert(0, now)
        return True

    def refusal(self) -> Throttled:
        seconds = max(1, math.ceil(self.wait() or 1))
        return Throttled(
            wait=seconds,
            detail=self.message.format(seconds=seconds, minutes=math.ceil(seconds / 60)),
        )

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.prepare(request, view) is None:
            return True
        if not _in_one_transaction(self._count):
            raise self.refusal()
        return True

    def _count(self) -> bool:
        """Read this limit's count, and count the request if the limit allows it."""
        if not self.allows(self.cache.get(self.key, []), self.timer()):
            return False
        if self.counts_requests:
            self.cache.set(self.key, self.history, self.duration)
        return True


class ShopperPaymentThrottle(PaymentThrottle):
    scope = "payment_shopper"
    setting = "PAYMENT_THROTTLE_RATE"

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AddressPaymentThrottle(ClientAddressThrottleMixin, PaymentThrottle):
    scope = "payment_address"
    setting = "PAYMENT_ADDRESS_THROTTLE_RATE"

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class DeclineThrottle(PaymentThrottle):
    """Counts only declines (recorded by `record_decline`), and refuses past the limit."""

    scope = "payment_declines"
    setting = "PAYMENT_DECLINE_LIMIT"
    message = TOO_MANY_DECLINES
    counts_requests = False  # a request is no decline: only record_decline counts

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class PaymentThrottles(BaseThrottle):
    """The limits on a payment request, checked in order as DRF would check them one by
    one (each allowed limit counts the request; the first refusal answers 429), but with
    one read of the cache for all of them and one write for the counts.

    With the database cache (production without Redis) every read or write of a count is
    SQL: one round trip, and one write transaction, instead of one per limit.
    """

    limits: tuple[type[PaymentThrottle], ...] = (
        ShopperPaymentThrottle,
        AddressPaymentThrottle,
        DeclineThrottle,
    )

    def allow_request(self, request: Request, view: APIView) -> bool:
        throttles = [limit() for limit in self.limits]
        keys = {throttle: throttle.prepare(request, view) for throttle in throttles}
        refused = _in_one_transaction(lambda: self._count(keys))
        if refused is not None:
            raise refused.refusal()
        return True

    def _count(self, keys: dict[PaymentThrottle, str | None]) -> PaymentThrottle | None:
        """Read the counts, count this request where it is allowed, and return the first
        limit that refuses it (None: allowed)."""
        histories = cache.get_many([key for key in keys.values() if key is not None])
        now = PaymentThrottle.timer()
        counted: dict[str, PaymentThrottle] = {}
        refused = None
        for throttle, key in keys.items():
            if key is None:
                continue
            if not throttle.allows(histories.get(key, []), now):
                refused = throttle
                break
            if throttle.counts_requests:
                counted[key] = throttle
        # Always in one order (by key, as the cache's read deletes expired counts
        # through the key's index), so that two payments never hold each other's rows
        # the other way round.
        for key in sorted(counted):
            cache.set(key, counted[key].history, counted[key].duration)
        return refused


class CountsBusy(APIException):
    """The payment limits' counts could not be written (the database kept refusing the
    transaction as a deadlock): nothing was placed or paid, the client may send it again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The shop is busy right now. Please try again in a moment."
    default_code = "busy"


# MySQL's ER_LOCK_DEADLOCK: InnoDB chose this transaction as a deadlock's victim and
# rolled it back ("try restarting transaction").
MYSQL_DEADLOCK = 1213
DEADLOCK_ATTEMPTS = 5


class _CountsUndone(Exception):
    """The cache swallowed a database error that ended the counts' transaction."""


def _in_one_transaction(work: Callable[[], T]) -> T:
    """Run `work` (reads and writes of the counts) in one transaction, again when the
    database ends it as a deadlock.

    The database cache deletes a count it finds expired when it reads it: two payments
    of one shopper (or from one address) arriving as their count expires each delete and
    write that row, and InnoDB may end one of them as a deadlock. Both transactions only
    wrote counts, so the victim (rolled back whole) is simply run again; past a few
    deadlocks in a row the request gets a 503, having placed nothing.

    The cache writes each key in a savepoint of its own and ignores a write that failed:
    after a deadlock there (which ended the whole transaction, savepoint and all) the
    next query raises TransactionManagementError, or, when there is none, the block
    would end quietly rolled back with this request uncounted. Both are run again too.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, BaseDatabaseCache):
        return work()  # other caches need no database transaction (and get none)
    alias = router.db_for_write(backend.cache_model_class)
    connection = connections[alias]
    # Inside a caller's transaction only the caller could run it all again.
    attempts = 1 if connection.in_atomic_block else DEADLOCK_ATTEMPTS
    for attempt in range(attempts):
        if attempt:
            # A few milliseconds apart, at random: the transactions that deadlocked
            # together do not start again at the same instant.
            time.sleep(random.uniform(0, 0.005 * attempt))
        try:
            with transaction.atomic(using=alias):
                result = work()
                if connection.needs_rollback:
                    raise _CountsUndone
                return result
        except (OperationalError, TransactionManagementError, _CountsUndone) as error:
            if isinstance(error, OperationalError) and not _is_deadlock(error):
                raise
            log.info(
                "payment limits' counts run again",
                extra={"reason": type(error).__name__, "attempt": attempt + 1},
            )
            undone = error
    raise CountsBusy() from undone


def _is_deadlock(error: OperationalError) -> bool:
    cause = error.__cause__
    return bool(cause is not None and cause.args and cause.args[0] == MYSQL_DEADLOCK)


def record_decline(request: Request) -> None:
    """A card of this shopper was declined: one more toward DeclineThrottle's limit."""
    throttle = DeclineThrottle()
    key = throttle.prepare(request, None)
    if key is None:
        return

    def count() -> None:
        now = throttle.timer()
        history = [moment for moment in cache.get(key, []) if moment > now - throttle.duration]  # type: ignore[operator]
        cache.set(key, [now, *history], throttle.duration)

    try:
        _in_one_transaction(count)
    except CountsBusy:
        # The shopper has had the decline's answer: only the count is missing.
        log.warning("decline not counted: the database kept refusing the count")


class ConfirmThrottle(PaymentThrottle):
    """confirm/ asks Stripe while a bank step may have just ended: per shopper, generous."""

    scope = "payment_confirm"
    setting = "PAYMENT_CONFIRM_RATE"
    message = "Too many requests about this payment. Please wait {seconds} seconds."

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


PAYMENT_THROTTLES = [PaymentThrottles]
