"""Shared plumbing for the API endpoints: request context, ids, money,
events, and Stripe's list / search / expand conventions.

Every endpoint handler runs with the store's lock held, mutates the
in-memory state, and either returns the response object or raises
StripeError. A ParamError means the parameters failed validation before
anything changed (Stripe does not save those under an idempotency key), so
every handler validates its parameters before it touches state.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from . import API_VERSION
from .errors import ParamError, StripeError, missing
from .params import require, string_list, to_int
from .store import Store

_ALPHABET = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{random_string(length)}"


def now() -> int:
    return int(time.time())


@dataclass
class Ctx:
    """What a handler knows about the request it serves."""

    store: Store
    base_url: str  # how the caller reached devstripe, for 3-D Secure URLs
    request_id: str | None = None
    idempotency_key: str | None = None
    key_kind: str | None = None  # "secret" or "publishable"
    client_ip: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # to deliver as webhooks
    # PaymentIntents now `processing`, to settle after the processing delay.
    settlements: list[str] = field(default_factory=list)


# -- money -----------------------------------------------------------------

# symbol, minimum charge amount (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts),
# zero-decimal
CURRENCIES: dict[str, tuple[str, int, bool]] = {
    "usd": ("$", 50, False),
    "eur": ("€", 50, False),
    "gbp": ("£", 30, False),
    "cad": ("$", 50, False),
    "aud": ("$", 50, False),
    "nzd": ("$", 50, False),
    "chf": ("CHF ", 50, False),
    "sek": ("kr ", 300, False),
    "nok": ("kr ", 300, False),
    "dkk": ("kr ", 250, False),
    "pln": ("zł ", 200, False),
    "jpy": ("¥", 50, True),
}
MAX_AMOUNT = 99_999_999


def money(amount: int, currency: str) -> str:
    symbol, _, zero_decimal = CURRENCIES[currency]
    return f"{symbol}{amount:,}" if zero_decimal else f"{symbol}{amount / 100:,.2f}"


def amount_and_currency(params: dict[str, Any]) -> tuple[int, str]:
    amount = to_int(require(params, "amount"), "amount")
    currency = str(require(params, "currency")).lower()
    if currency not in CURRENCIES:
        raise ParamError(
            f"Invalid currency: {currency}. devstripe supports these currencies: "
            + ", ".join(CURRENCIES),
            param="currency",
        )
    minimum = CURRENCIES[currency][1]
    if amount < minimum:
        raise ParamError(
            f"Amount must be at least {money(minimum, currency)} {currency}",
            code="amount_too_small",
            param="amount",
        )
    if amount > MAX_AMOUNT:
        raise ParamError(
            f"Amount must be no more than {money(MAX_AMOUNT, currency)}",
            code="amount_too_large",
            param="amount",
        )
    return amount, currency


def optional_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParamError("Invalid string", param=name)
    return value


# -- events ----------------------------------------------------------------


def emit(ctx: Ctx, event_type: str, obj: dict[str, Any], previous: dict | None = None) -> None:
    config = ctx.store.config
    event: dict[str, Any] = {
        "id": new_id("evt"),
        "object": "event",
        # Stripe renders an event in the API version of the webhook endpoint it goes to.
        "api_version": config.webhook_api_version or API_VERSION,
        "created": now(),
        "data": {"object": copy.deepcopy(obj)},
        "livemode": False,
        "pending_webhooks": 1 if config.webhook_url and config.webhook_secret else 0,
        "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
        "type": event_type,
    }
    if previous:
        event["data"]["previous_attributes"] = previous
    ctx.store.add(event)
    ctx.events.append(event)


def retrieve_event(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return ctx.store.get(id, "event") or fail(missing("event", id))


def list_events(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    patterns = []
    if params.get("type"):
        patterns.append(str(params["type"]))
    if params.get("types") is not None:
        patterns += string_list(params["types"], "types")
    events = ctx.store.newest_first(
        "event",
        lambda e: not patterns or any(fnmatch.fnmatchcase(e["type"], p) for p in patterns),
    )
    return list_page(events, params, "/v1/events")


# -- lists, search, expand --------------------------------------------------


def fail(error: StripeError) -> Any:
    """Raise ``error``; usable in an expression: ``store.get(...) or fail(missing(...))``."""
    raise error


def _limit(params: dict[str, Any]) -> int:
    limit = to_int(params.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise ParamError(f"Invalid limit: {limit}. Limit must be between 1 and 100.", param="limit")
    return limit


def list_page(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """Newest first, with Stripe's cursor pagination (starting_after / ending_before)."""
    limit = _limit(params)
    ids = [item["id"] for item in items]
    for cursor in ("starting_after", "ending_before"):
        if params.get(cursor) and params[cursor] not in ids:
            raise missing("object", params[cursor], param=cursor, status=400)
    if params.get("starting_after"):
        start = ids.index(params["starting_after"]) + 1
        page, has_more = items[start : start + limit], len(items) > start + limit
    elif params.get("ending_before"):
        end = ids.index(params["ending_before"])
        page, has_more = items[max(0, end - limit) : end], end - limit > 0
    else:
        page, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


_CLAUSE = re.compile(
    r"""^(-?)(metadata\[(?:'([^']*)'|"([^"]*)")\]|[a-z_.0-9]+):(?:'([^']*)'|"([^"]*)"|(\S+))$"""
)

# Real Stripe search is eventually consistent: new objects can take up to a
# minute to appear. devstripe's index is immediate — don't rely on that.
SEARCH_FIELDS = {
    "charge": {
        "amount",
        "currency",
        "customer",
        "disputed",
        "payment_intent",
        "payment_method_details.card.last4",
        "refunded",
        "status",
    },
    "payment_intent": {"amount", "currency", "customer", "status"},
}


def search(ctx: Ctx, params: dict[str, Any], object_type: str, url: str) -> dict[str, Any]:
    query = str(require(params, "query")).strip()
    if " AND " in query and " OR " in query:
        raise ParamError("You cannot combine AND and OR in the same query.", param="query")
    joiner = " OR " if " OR " in query else " AND "
    clauses = [_parse_clause(part.strip(), object_type) for part in query.split(joiner)]
    combine = any if joiner == " OR " else all
    items = ctx.store.newest_first(object_type, lambda o: combine(c(o) for c in clauses))
    limit = _limit(params)
    offset = 0
    if params.get("page"):
        if not re.fullmatch(r"page_\d+", str(params["page"])):
            raise ParamError(f"Invalid page: {params['page']}", param="page")
        offset = int(str(params["page"])[5:])
    has_more = len(items) > offset + limit
    return {
        "object": "search_result",
        "data": items[offset : offset + limit],
        "has_more": has_more,
        "next_page": f"page_{offset + limit}" if has_more else None,
        "url": url,
    }


def _parse_clause(clause: str, object_type: str):
    match = _CLAUSE.match(clause)
    if not match:
        raise ParamError(
            f"Invalid query clause: {clause!r}. devstripe understands field:'value' clauses "
            "joined by AND (or OR), such as metadata['order_id']:'42' AND status:'succeeded'.",
            param="query",
        )
    negate, field_name, meta_single, meta_double, *values = match.groups()
    wanted = next(v for v in values if v is not None).lower()
    meta_key = meta_single if meta_single is not None else meta_double
    if meta_key is None and field_name not in SEARCH_FIELDS[object_type]:
        raise ParamError(
            f"Field `{field_name}` is an unsupported search field for resource "
            f"`{object_type}s`. devstripe supports: metadata, "
            + ", ".join(sorted(SEARCH_FIELDS[object_type])),
            param="query",
        )

    def matches(obj: dict[str, Any]) -> bool:
        if meta_key is not None:
            value: Any = obj.get("metadata", {}).get(meta_key)
        else:
            value = obj
            for part in field_name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            value = "true" if value else "false"
        found = value is not None and str(value).lower() == wanted
        return found != bool(negate)

    return matches


def expand(store: Store, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Apply ``expand[]``: replace ids by the objects they name."""
    if not paths:
        return obj
    obj = copy.deepcopy(obj)
    for path in paths:
        _expand_path(store, obj, path.split("."), path)
    return obj


def _expand_path(store: Store, obj: dict[str, Any], parts: list[str], full: str) -> None:
    head, rest = parts[0], parts[1:]
    if obj.get("object") in ("list", "search_result") and head == "data":
        for item in obj["data"]:
            if rest:
                _expand_path(store, item, rest, full)
        return
    if obj.get("object") == "charge" and head == "refunds":
        # Since API version 2022-11-15 a charge's refunds are only there when expanded.
        refunds = store.newest_first("refund", lambda r: r["charge"] == obj["id"])
        obj["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{obj['id']}/refunds",
        }
    elif head not in obj or (isinstance(obj[head], str) and obj[head] not in store.objects):
        raise ParamError(f"This property cannot be expanded ({full}).", param="expand")
    elif isinstance(obj[head], str):
        obj[head] = copy.deepcopy(store.objects[obj[head]])
    if rest and isinstance(obj.get(head), dict):
        _expand_path(store, obj[head], rest, full)
