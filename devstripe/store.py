"""devstripe's in-memory state: Stripe objects, idempotency keys, the request
log, queued faults, webhook deliveries, the rate limiter and the runtime config.

One re-entrant lock guards all of it. Callers hold it only for quick work,
never while sleeping (latency, slow faults, webhook backoff), so slow
requests overlap instead of queueing behind each other.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import API_VERSION
from .cards import Card
from .errors import ParamError, StripeError

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
MAX_IDEMPOTENCY_KEY_LENGTH = 255
FAULT_MODES = ("error_500", "drop_before", "drop_after", "slow", "rate_limit")
_MAX_LOGGED_REQUESTS = 10_000


# Config fields that are numbers (>= 0, 0 = off); the others are strings or None.
_NUMBER_FIELDS = (
    "latency_ms",
    "webhook_delay_ms",
    "rate_limit",
    "endpoint_rate_limit",
    "processing_delay_ms",
)
# Config fields that fall back to a default (not None) when unset.
_DEFAULTS: dict[str, Any] = {"webhook_api_version": API_VERSION, "processing_delay_ms": 3000}


@dataclass
class Config:
    latency_ms: int = 0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_delay_ms: int = 0
    # Requests per second per account, and per account and endpoint (0 = no limit):
    # Stripe's test mode allows 25 and 25 (https://docs.stripe.com/rate-limits).
    rate_limit: float = 0
    endpoint_rate_limit: float = 0
    # The webhook endpoint's API version: events are rendered in it (their api_version).
    webhook_api_version: str = API_VERSION
    # How long a payment in `processing` (a US bank account debit) takes to settle.
    processing_delay_ms: int = 3000

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["webhook_secret"] = "whsec_…" if self.webhook_secret else None
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, all or nothing."""
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ParamError(f"Unknown config field: {name}", param=name)
            if value in (None, ""):
                continue  # unset: back to the default
            if name.endswith("_ms"):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ParamError(f"{name} must be a non-negative integer", param=name)
            elif name in _NUMBER_FIELDS:
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise ParamError(f"{name} must be a non-negative number", param=name)
            elif value is not None and not isinstance(value, str):
                raise ParamError(f"{name} must be a string or null", param=name)
            elif name == "webhook_url" and value and not value.startswith(("http://", "https://")):
                raise ParamError("webhook_url must be an http:// or https:// URL", param=name)
        for name, value in changes.items():
            default = _DEFAULTS.get(name, 0 if name in _NUMBER_FIELDS else None)
            setattr(self, name, default if value in (None, "") else value)


class RateLimiter:
    """Stripe's request rate limiter (https://docs.stripe.com/rate-limits): every request
    counts against its account's limit and against its endpoint's, a named operation
    such as ``POST /v1/charges`` or ``GET /v1/charges/{id}`` (whatever the id).

    A token bucket per account and per endpoint, as Stripe describes its limiter: it holds
    one second of requests, so a burst of up to that many passes at once, and refills at
    the rate. A refused request spends nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], list[float]] = {}  # key -> [tokens, updated]

    def take(
        self,
        account: str,
        endpoint: str,
        rate: float,
        endpoint_rate: float,
        now: float | None = None,
    ) -> str | None:
        """Spend one request: None if it may go on, else Stripe's reason for the 429
        (the ``Stripe-Rate-Limited-Reason`` header): ``global-rate`` or ``endpoint-rate``."""
        now = time.monotonic() if now is None else now
        limits = [(("account", account), rate, "global-rate")]
        limits.append((("endpoint", account, endpoint), endpoint_rate, "endpoint-rate"))
        with self._lock:
            buckets = []
            for key, per_second, reason in limits:
                if not per_second:
                    continue
                capacity = max(per_second, 1.0)
                bucket = self._buckets.setdefault(key, [capacity, now])
                bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * per_second)
                bucket[1] = now
                if bucket[0] < 1:
                    return reason
                buckets.append(bucket)
            for bucket in buckets:
                bucket[0] -= 1
        return None

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


@dataclass
class IdempotentResult:
    method: str
    path: str
    fingerprint: str
    created: float
    request_id: str
    status: int | None = None  # None while the first request is still executing
    body: bytes | None = None


class Store:
    def __init__(self, config: Config | None = None) -> None:
        self.lock = threading.RLock()
        self.config = config or Config()
        # Bumped by reset() so webhook threads started before it stop quietly.
        self.generation = 0
        self.rate_limiter = RateLimiter()
        self._clear()

    def _clear(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self._sequence: dict[str, int] = {}
        self._counter = itertools.count()
        # Card numbers behind tokens, cards and payment methods. Kept apart
        # from the objects so they can never leak into a response.
        self.cards: dict[str, Card] = {}
        # Bank account numbers behind us_bank_account payment methods and
        # ConfirmationTokens (kept apart like the cards).
        self.bank_accounts: dict[str, str] = {}
        # Per-PaymentIntent facts Stripe does not expose (e.g. which payment
        # method already passed 3-D Secure).
        self.intent_state: dict[str, dict[str, Any]] = {}
        # The PaymentMethod a ConfirmationToken was made from (test helper with
        # payment_method=pm_...), to attach that one when it is used.
        self.token_payment_methods: dict[str, str] = {}
        # Seconds added to the real time for expiry checks (ConfirmationTokens):
        # moved by POST /_devstripe/clock so tests need not wait 12 hours.
        self.clock_offset = 0
        self.idempotency: dict[tuple[str, str], IdempotentResult] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget everything except the config (the rate limiter's buckets start full)."""
        with self.lock:
            self.generation += 1
            self._clear()
            self.rate_limiter.clear()

    def now(self) -> int:
        """The time expiries are checked against: the real time plus the test clock's offset."""
        return int(time.time()) + self.clock_offset

    # -- objects -----------------------------------------------------------

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
            self._sequence[obj["id"]] = next(self._counter)
        return obj

    def get(self, object_id: Any, object_type: str) -> dict[str, Any] | None:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        return obj if obj is not None and obj["object"] == object_type else None

    def newest_first(
        self, object_type: str, match: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> list[dict[str, Any]]:
        with self.lock:
            found = [o for o in self.objects.values() if o["object"] == object_type and match(o)]
            return sorted(found, key=lambda o: self._sequence[o["id"]], reverse=True)

    # -- idempotency (https://docs.stripe.com/api/idempotent_requests) -------

    def begin_idempotent(
        self, scope: str, key: str, method: str, path: str, fingerprint: str, request_id: str
    ) -> IdempotentResult | None:
        """Claim ``key`` for a request, or return the saved result to replay.

        Returns None when the request should execute; it is then registered
        as in progress until finish_idempotent() or forget_idempotent().
        """
        with self.lock:
            self._prune_idempotency()
            entry = self.idempotency.get((scope, key))
            if entry is None:
                self.idempotency[(scope, key)] = IdempotentResult(
                    method, path, fingerprint, time.time(), request_id
                )
                return None
            if (entry.method, entry.path) != (method, path):
                raise StripeError(
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{entry.path}' vs '{path}'). Try using a key other "
                    f"than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            if entry.fingerprint != fingerprint:
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    type="idempotency_error",
                )
            if entry.status is None:
                raise StripeError(
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    f"going through): {key}. Please try again later.",
                    status=409,
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            return entry

    def finish_idempotent(self, scope: str, key: str, status: int, body: bytes) -> None:
        with self.lock:
            entry = self.idempotency.get((scope, key))
            if entry is not None:
                entry.status, entry.body = status, body

    def forget_idempotent(self, scope: str, key: str) -> None:
        with self.lock:
            self.idempotency.pop((scope, key), None)

    def _prune_idempotency(self) -> None:
        cutoff = time.time() - IDEMPOTENCY_TTL_SECONDS
        for ident, entry in list(self.idempotency.items()):
            if entry.created < cutoff:
                del self.idempotency[ident]

    # -- faults ------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise ParamError(f"mode must be one of {', '.join(FAULT_MODES)}", param="mode")
        path = spec.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ParamError("path must be a path prefix such as /v1/charges", param="path")
        times, delay_ms = spec.get("times", 1), spec.get("delay_ms", 0)
        for name, value, low in (("times", times, 1), ("delay_ms", delay_ms, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ParamError(f"{name} must be an integer >= {low}", param=name)
        fault = {
            "method": str(spec.get("method") or "*").upper(),
            "path": path,
            "mode": mode,
            "times": times,
            "delay_ms": delay_ms,
        }
        with self.lock:
            self.faults.append(fault)
        return dict(fault)

    def take_fault(self, method: str, path: str) -> dict[str, Any] | None:
        """Consume one use of the first fault matching the method and path prefix."""
        with self.lock:
            for fault in self.faults:
                if fault["method"] in ("*", method) and path.startswith(fault["path"]):
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self.faults.remove(fault)
                    return dict(fault)
        return None

    # -- logs --------------------------------------------------------------

    def log_request(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(record)
            del self.requests[:-_MAX_LOGGED_REQUESTS]

    def log_delivery(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append(record)
