"""HTTP: routing, API keys, idempotency, faults and latency, control routes,
the Stripe.js stand-in and the test 3-D Secure page.

HTTP/1.1 with a Content-Length on every answer, so the Stripe SDK's
keep-alive session reuses connections the way it does with Stripe.
"""

from __future__ import annotations

import base64
import html
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import API_VERSION, charges, confirmation_tokens, core, intents
from .core import Ctx, money, new_id
from .errors import (
    API_ERROR,
    NO_API_KEY,
    RATE_LIMITED,
    SECRET_KEY_REQUIRED,
    ParamError,
    StripeError,
    missing,
    unrecognized_url,
)
from .params import decode_form, expand_list
from .store import MAX_IDEMPOTENCY_KEY_LENGTH, Config, Store
from .webhooks import WebhookSender

_HERE = Path(__file__).parent
STRIPE_JS = (_HERE / "stripejs.js").read_bytes()
THREEDS_TEMPLATE = (_HERE / "threeds.html").read_text()
REDIRECT_TEMPLATE = (_HERE / "redirect.html").read_text()


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., dict[str, Any]]
    publishable: bool = False  # may a publishable key call it?


def _route(method: str, path: str, handler, publishable: bool = False) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{regex}$"), handler, publishable)


ROUTES = [
    _route("POST", "/v1/tokens", charges.create_token, publishable=True),
    _route("GET", "/v1/tokens/{id}", charges.retrieve_token),
    _route("POST", "/v1/payment_methods", charges.create_payment_method, publishable=True),
    _route("GET", "/v1/payment_methods/{id}", charges.retrieve_payment_method),
    _route("POST", "/v1/charges", charges.create_charge),
    _route("GET", "/v1/charges", charges.list_charges),
    _route("GET", "/v1/charges/search", charges.search_charges),
    _route("GET", "/v1/charges/{id}", charges.retrieve_charge),
    _route("POST", "/v1/refunds", charges.create_refund),
    _route("GET", "/v1/refunds", charges.list_refunds),
    _route("GET", "/v1/refunds/{id}", charges.retrieve_refund),
    _route("POST", "/v1/payment_intents", intents.create_payment_intent),
    _route("GET", "/v1/payment_intents", intents.list_payment_intents),
    _route("GET", "/v1/payment_intents/search", intents.search_payment_intents),
    # With a publishable key only together with the client_secret (checked by the handler).
    _route("GET", "/v1/payment_intents/{id}", intents.retrieve_payment_intent, publishable=True),
    _route("POST", "/v1/payment_intents/{id}/confirm", intents.confirm_payment_intent),
    _route("POST", "/v1/payment_intents/{id}/cancel", intents.cancel_payment_intent),
    # Stripe.js creates them with the publishable key.
    _route(
        "POST",
        "/v1/confirmation_tokens",
        confirmation_tokens.create_confirmation_token,
        publishable=True,
    ),
    _route("GET", "/v1/confirmation_tokens/{id}", confirmation_tokens.retrieve_confirmation_token),
    _route(
        "POST",
        "/v1/test_helpers/confirmation_tokens",
        confirmation_tokens.create_test_confirmation_token,
    ),
    _route("GET", "/v1/events", core.list_events),
    _route("GET", "/v1/events/{id}", core.retrieve_event),
]


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, found.groupdict()
    raise unrecognized_url(method, path)


def endpoint_of(method: str, path: str) -> str:
    """The endpoint a request counts against for rate limiting: its named operation,
    e.g. ``GET /v1/charges/{id}`` for every charge id (an unknown URL: its own path)."""
    try:
        route, _ = match_route(method, path)
    except StripeError:
        return f"{method} {path}"
    return f"{method} {route.pattern.pattern}"


@dataclass(frozen=True)
class ApiKey:
    kind: str  # "secret" or "publishable"
    account: str  # sk_test_X and pk_test_X belong to account X


def mask_key(key: str) -> str:
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def authenticate(authorization: str | None, params: dict[str, Any]) -> ApiKey:
    """Bearer or Basic auth (as curl -u sends), or Stripe.js's ``key`` parameter."""
    raw = None
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer":
        raw = value.strip()
    elif scheme.lower() == "basic":
        try:
            raw = base64.b64decode(value.strip()).decode().partition(":")[0]
        except ValueError:
            raw = value
    if not raw and isinstance(params.get("key"), str):
        raw = params["key"]
    if not raw:
        raise StripeError(NO_API_KEY, status=401)
    found = re.fullmatch(r"(sk|pk)_test_(\w+)", raw)
    if not found:
        # devstripe knows only test-mode keys: a live key here is a mistake.
        raise StripeError(f"Invalid API Key provided: {mask_key(raw)}", status=401)
    return ApiKey("secret" if found[1] == "sk" else "publishable", found[2])


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """What the request log keeps: no API key, no full card number or CVC."""

    def scrub(value: Any, name: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if name == "number" and isinstance(value, str) and len(value) > 4:
            return "*" * (len(value) - 4) + value[-4:]
        if name == "cvc":
            return "***"
        return value

    return {k: scrub(v, k) for k, v in params.items() if k != "key"}


def to_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


_DROP = object()  # close the connection without answering


class DevStripeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], store: Store, quiet: bool = False) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.webhooks = WebhookSender(store)
        self.quiet = quiet

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def schedule_settlements(self, intent_ids: list[str]) -> None:
        """Settle each processing PaymentIntent after the processing delay, on a timer
        thread of this process (a reset in between cancels it)."""
        delay = self.store.config.processing_delay_ms / 1000
        for intent_id in intent_ids:
            timer = threading.Timer(delay, self._settle_later, (intent_id, self.store.generation))
            timer.name = f"devstripe-settle-{intent_id}"
            timer.daemon = True
            timer.start()

    def _settle_later(self, intent_id: str, generation: int) -> None:
        ctx = Ctx(self.store, base_url=self.url)
        with self.store.lock:
            if self.store.generation != generation:
                return
            intent = self.store.get(intent_id, "payment_intent")
            if intent is None or intent["status"] != "processing":
                return  # settled already (the control route) or canceled
            intents.settle_payment_intent(ctx, intent_id)
        self.webhooks.dispatch(ctx.events)


def make_server(
    host: str = "127.0.0.1", port: int = 0, config: Config | None = None, quiet: bool = False
) -> DevStripeServer:
    return DevStripeServer((host, port), Store(config), quiet=quiet)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devstripe"
    sys_version = ""
    server: DevStripeServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_GET

    def do_OPTIONS(self) -> None:
        # CORS preflight, so Stripe.js calls from the shop's origin work.
        self._send(
            204,
            b"",
            None,
            {
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": self.headers.get(
                    "Access-Control-Request-Headers",
                    "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
                ),
                "Access-Control-Max-Age": "600",
            },
        )

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per API request is written by _log_api instead

    # -- plumbing ------------------------------------------------------------

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = url.path
        if path.startswith("/v1/"):
            self._api(path, url.query, body)
        elif path.startswith("/_devstripe/"):
            self._control(path, url.query, body)
        elif path in ("/v3", "/v3/"):
            self._send(200, STRIPE_JS, "application/javascript; charset=utf-8")
        elif path.startswith("/3ds/"):
            self._threeds(path, url.query, body)
        elif path.startswith("/redirect/"):
            self._redirect_page(path, url.query, body)
        elif path.startswith("/receipts/payment/") and self.command == "GET":
            self._receipt(path.rsplit("/", 1)[-1])
        else:
            self._send_json(*self._error(unrecognized_url(self.command, path)))

    def _send(
        self, status: int, body: bytes, content_type: str | None, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers", "Request-Id, Idempotent-Replayed, Original-Request"
        )
        self.send_header("Cache-Control", "no-cache, no-store")
        headers = dict(headers or {})
        headers.setdefault("Request-Id", new_id("req", 14))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self._send(status, body, "application/json", headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, error: StripeError, headers: dict | None = None) -> tuple[int, bytes, dict]:
        return error.status, to_json(error.body()), dict(headers or {})

    def _rate_limited(self, reason: str) -> tuple[int, bytes, dict]:
        """Stripe's 429 for a request over a rate limit, saying which one: nothing was done,
        and the same request (its idempotency key too) may be sent again later. No
        Stripe-Should-Retry header, so the SDKs leave the retry to the caller."""
        error = StripeError(RATE_LIMITED, status=429, code="rate_limit")
        return self._error(error, {"Stripe-Rate-Limited-Reason": reason})

    def _base_url(self) -> str:
        return f"http://{self.headers.get('Host') or self.server.url[7:]}"

    # -- the API -------------------------------------------------------------

    def _api(self, path: str, query: str, body: str) -> None:
        started = time.monotonic()
        params = decode_form(query)
        if self.command == "POST":
            params.update(decode_form(body))
        request_id = new_id("req", 14)
        record = {
            "id": request_id,
            "created": time.time(),
            "method": self.command,
            "path": path,
            "params": redact(params),
            "idempotency_key": self.headers.get("Idempotency-Key")
            if self.command == "POST"
            else None,
            "key_kind": None,
            # The API version the caller asked for (None: the account's default).
            "stripe_version": self.headers.get("Stripe-Version"),
            "status": None,
            "replayed": False,
            "fault": None,
            "rate_limited": None,
        }
        answer = None
        try:
            answer = self._api_answer(record, path, params)
        finally:
            # Logged before the answer goes out: a client holding its answer must find
            # its request in the log (tests read it right after the SDK returns).
            if isinstance(answer, tuple):
                record["status"] = answer[0]
            record["duration_ms"] = round((time.monotonic() - started) * 1000)
            self.server.store.log_request(record)
            self._log_api(record)
        try:
            if answer is _DROP:
                self._drop()
            else:
                status, payload, headers = answer
                self._send_json(
                    status,
                    payload,
                    {
                        "Request-Id": request_id,
                        "Stripe-Version": self.headers.get("Stripe-Version") or API_VERSION,
                        **headers,
                    },
                )
        except OSError:
            # The client went away first (say it timed out); the work stands.
            self.close_connection = True

    def _api_answer(self, record: dict, path: str, params: dict) -> Any:
        store = self.server.store
        method, idem_key = self.command, record["idempotency_key"]
        fault = store.take_fault(method, path)
        mode = record["fault"] = fault["mode"] if fault else None
        # Counted as it arrives, answered after the latency like any other answer.
        limited = record["rate_limited"] = self._over_rate_limit(method, path, params)
        if store.config.latency_ms:
            time.sleep(store.config.latency_ms / 1000)
        if mode == "drop_before":
            return _DROP
        if mode == "error_500":
            return self._error(StripeError(API_ERROR, status=500, type="api_error"))
        if mode == "rate_limit":
            return self._rate_limited("global-rate")
        if limited:
            return self._rate_limited(limited)

        try:
            key = authenticate(self.headers.get("Authorization"), params)
            record["key_kind"] = key.kind
            route, path_args = match_route(method, path)
            if key.kind == "publishable" and not route.publishable:
                raise StripeError(SECRET_KEY_REQUIRED, status=401, code="secret_key_required")
            if idem_key is not None and len(idem_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise ParamError(
                    "Keys for idempotent requests can be no longer than "
                    f"{MAX_IDEMPOTENCY_KEY_LENGTH} characters."
                )
            headers: dict[str, str] = {}
            if idem_key is not None:
                headers["Idempotency-Key"] = idem_key
                fingerprint = json.dumps(params, sort_keys=True)
                saved = store.begin_idempotent(
                    key.account, idem_key, method, path, fingerprint, record["id"]
                )
                if saved is not None:
                    # A replay is an answer like any other: faults still apply to it.
                    record["replayed"] = True
                    if mode == "slow":
                        time.sleep(fault["delay_ms"] / 1000)
                    if mode == "drop_after":
                        return _DROP
                    headers.update(
                        {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
                    )
                    return saved.status, saved.body, headers
                headers["Original-Request"] = record["id"]
        except StripeError as error:
            return self._error(error)

        saved_result = False
        try:
            if mode == "slow":
                time.sleep(fault["delay_ms"] / 1000)
            ctx = Ctx(
                store,
                base_url=self._base_url(),
                request_id=record["id"],
                idempotency_key=idem_key,
                key_kind=key.kind,
                client_ip=self.client_address[0],
            )
            status, payload, save = self._execute(route, ctx, params, path_args)
            if idem_key is not None and save:
                store.finish_idempotent(key.account, idem_key, status, payload)
                saved_result = True
        finally:
            if idem_key is not None and not saved_result:
                store.forget_idempotent(key.account, idem_key)
        self.server.webhooks.dispatch(ctx.events)
        self.server.schedule_settlements(ctx.settlements)
        if mode == "drop_after":
            return _DROP
        return status, payload, headers

    def _over_rate_limit(self, method: str, path: str, params: dict) -> str | None:
        """None, or why the rate limiter refuses this request (no limit set: never).
        A request with no valid key is not counted: it fails authentication instead."""
        config = self.server.store.config
        if not (config.rate_limit or config.endpoint_rate_limit):
            return None
        try:
            key = authenticate(self.headers.get("Authorization"), params)
        except StripeError:
            return None
        return self.server.store.rate_limiter.take(
            key.account, endpoint_of(method, path), config.rate_limit, config.endpoint_rate_limit
        )

    def _execute(self, route: Route, ctx: Ctx, params: dict, path_args: dict):
        """(status, body, whether Stripe would save it under the idempotency key)."""
        store = ctx.store
        try:
            with store.lock:
                result = route.handler(ctx, params, **path_args)
                return 200, to_json(core.expand(store, result, expand_list(params))), True
        except StripeError as error:
            return error.status, to_json(error.body()), error.saved
        except Exception:
            traceback.print_exc(file=sys.stderr)
            error = StripeError(API_ERROR, status=500, type="api_error")
            return 500, to_json(error.body()), True

    def _log_api(self, record: dict) -> None:
        if self.server.quiet:
            return
        notes = [f"fault={record['fault']}"] if record["fault"] else []
        if record["rate_limited"]:
            notes.append(f"rate_limited={record['rate_limited']}")
        if record["replayed"]:
            notes.append("replayed")
        sys.stderr.write(
            f"devstripe: {record['method']} {record['path']} -> {record['status'] or 'dropped'} "
            f"{record['id']} {record['duration_ms']}ms {' '.join(notes)}\n"
        )
        sys.stderr.flush()

    # -- control routes (no auth; a local test tool) ---------------------------

    def _control(self, path: str, query: str, body: str) -> None:
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            self._send_json(*self._error(ParamError("The body must be a JSON object.")))
            return
        try:
            status, result = self._control_answer(path, dict(parse_qsl(query)), data)
        except StripeError as error:
            self._send_json(*self._error(error))
            return
        self._send_json(status, to_json(result))

    def _control_answer(self, path: str, query: dict, data: dict) -> tuple[int, Any]:
        store, method = self.server.store, self.command
        name = path[len("/_devstripe/") :]
        if (method, name) == ("GET", "health"):
            return 200, {"status": "ok", "api_version": API_VERSION}
        if (method, name) == ("POST", "reset"):
            store.reset()
            return 200, {"reset": True}
        if (method, name) == ("GET", "requests"):
            return 200, {"data": _filter_requests(store, query)}
        if name == "faults":
            if method == "POST":
                return 200, {"fault": store.add_fault(data)}
            if method == "DELETE":
                with store.lock:
                    store.faults.clear()
            with store.lock:
                return 200, {"data": [dict(f) for f in store.faults]}
        if name == "config":
            if method == "POST":
                with store.lock:
                    store.config.update(data)
            return 200, {"config": store.config.public()}
        if (method, name) == ("GET", "webhooks"):
            with store.lock:
                return 200, {"data": [dict(d) for d in store.deliveries]}
        if name == "clock":
            if method == "POST":
                seconds = data.get("advance_seconds", 0)
                if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                    raise ParamError(
                        "advance_seconds must be a non-negative integer", param="advance_seconds"
                    )
                with store.lock:
                    store.clock_offset += seconds
            with store.lock:
                return 200, {"now": store.now(), "offset_seconds": store.clock_offset}
        settle = re.fullmatch(r"payment_intents/([^/]+)/settle", name)
        if method == "POST" and settle:
            ctx = Ctx(store, base_url=self._base_url())
            with store.lock:
                intent = intents.settle_payment_intent(ctx, settle[1])
            self.server.webhooks.dispatch(ctx.events)
            return 200, intent
        resend = re.fullmatch(r"events/([^/]+)/resend", name)
        if method == "POST" and resend:
            event_id = resend[1]
            if store.get(event_id, "event") is None:
                raise missing("event", event_id)
            if not self.server.webhooks.send(event_id):
                raise ParamError("No webhook_url and webhook_secret are configured.")
            return 200, {"event": event_id, "queued": True}
        raise StripeError(f"Unknown control route: {method} {path}", status=404)

    # -- a paid charge's receipt page (Stripe's is at charge.receipt_url) -------

    def _receipt(self, charge_id: str) -> None:
        store = self.server.store
        with store.lock:
            charge = store.get(charge_id, "charge")
            charge = dict(charge) if charge is not None and charge["paid"] else None
        if charge is None:
            self._send(404, b"No such receipt\n", "text/plain; charset=utf-8")
            return
        details = charge.get("payment_method_details") or {}
        if details.get("type") == "card":
            card = details.get("card") or {}
            brand = card.get("brand") or "card"
            method = f"{_BRAND_NAMES.get(brand, brand.title())} - {card.get('last4', '')}"
        elif details.get("type") == "us_bank_account":
            method = f"US bank account - {details['us_bank_account']['last4']}"
        else:
            kind = str(details.get("type"))
            method = _METHOD_NAMES.get(kind, kind)
        lines = [
            f"Amount paid: {money(charge['amount'], charge['currency'])} "
            f"{charge['currency'].upper()}",
            f"Payment method: {method}",
            f"Receipt for charge {charge['id']}",
        ]
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Receipt (devstripe)</title></head><body><h1>Receipt</h1>"
            f"<ul>{items}</ul><p>devstripe, the local Stripe stand-in: no real money moved."
            "</p></body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    # -- the test redirect page (amazon_pay's next_action) ---------------------------

    def _redirect_page(self, path: str, query: str, body: str) -> None:
        """GET shows the page; POST .../authorize or .../fail settles the PaymentIntent and
        answers 303 to its return_url with Stripe's query appended."""
        parts = path.strip("/").split("/")
        store = self.server.store
        if self.command == "GET" and len(parts) == 2:
            form, outcome = dict(parse_qsl(query)), None
        elif self.command == "POST" and len(parts) == 3 and parts[2] in ("authorize", "fail"):
            form, outcome = dict(parse_qsl(body)), parts[2]
        else:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        intent_id, secret = parts[1], form.get("client_secret", "")
        ctx = Ctx(store, base_url=self._base_url())
        html_type = "text/html; charset=utf-8"
        try:
            with store.lock:
                if outcome is None:
                    intent = intents.intent_for_secret(store, intent_id, secret)
                    waiting = (intent["next_action"] or {}).get("type") == "redirect_to_url"
                    problem = None
                    if intent["status"] != "requires_action" or not waiting:
                        problem = (
                            "Nothing to authorize: this PaymentIntent's status is "
                            f"{intent['status']}."
                        )
                    page = _redirect_page_html(intent, problem)
                else:
                    intent = intents.finish_redirect(ctx, intent_id, secret, outcome == "authorize")
                    location = intents.redirect_return_url(store, intent, outcome == "authorize")
        except StripeError as error:
            self._send(
                error.status, _redirect_page_html(None, error.error["message"]).encode(), html_type
            )
            return
        self.server.webhooks.dispatch(ctx.events)
        if outcome is None:
            self._send(200, page.encode(), html_type)
        else:
            self._send(303, b"", None, {"Location": location})

    # -- the test 3-D Secure page ----------------------------------------------

    def _threeds(self, path: str, query: str, body: str) -> None:
        parts = path.strip("/").split("/")
        store = self.server.store
        if self.command == "GET" and len(parts) == 2:
            form = dict(parse_qsl(query))
            outcome = None
        elif self.command == "POST" and len(parts) == 3 and parts[2] in ("complete", "fail"):
            form = dict(parse_qsl(body))
            outcome = parts[2]
        else:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        intent_id, secret = parts[1], form.get("client_secret", "")
        ctx = Ctx(store, base_url=self._base_url())
        try:
            with store.lock:
                if outcome is None:
                    intent = intents.intent_for_secret(store, intent_id, secret)
                else:
                    intent = intents.finish_authentication(
                        ctx, intent_id, secret, outcome == "complete"
                    )
                page = _threeds_page(store, intent, form.get("return_url"), outcome)
            status = 200
        except StripeError as error:
            page = _threeds_page(store, None, None, None, error.error["message"])
            status = error.status
        self.server.webhooks.dispatch(ctx.events)
        self._send(status, page.encode(), "text/html; charset=utf-8")


def _redirect_page_html(intent: dict | None, problem: str | None = None) -> str:
    if intent is not None and problem is None:
        amount = f"{money(intent['amount'], intent['currency'])} {intent['currency'].upper()}"
        summary = f"Authorize a test payment of {amount}."
        hidden = ""
    else:
        summary, hidden = problem or "", "hidden"
    values = {
        "summary": html.escape(summary),
        "hidden": hidden,
        "authorize_url": f"/redirect/{intent['id']}/authorize" if intent else "",
        "fail_url": f"/redirect/{intent['id']}/fail" if intent else "",
        "client_secret": html.escape(intent["client_secret"] if intent else "", quote=True),
    }
    page = REDIRECT_TEMPLATE
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", value)
    return page


def _filter_requests(store: Store, query: dict) -> list[dict]:
    """``path`` matches exactly, or as a prefix when it ends with ``*``."""
    path, method = query.get("path"), (query.get("method") or "").upper()
    with store.lock:
        # Logged as they finish; listed as they arrived.
        found = sorted(store.requests, key=lambda r: r["created"])
    if method:
        found = [r for r in found if r["method"] == method]
    if path and path.endswith("*"):
        found = [r for r in found if r["path"].startswith(path[:-1])]
    elif path:
        found = [r for r in found if r["path"] == path]
    return found


_BRAND_NAMES = {"amex": "American Express", "diners": "Diners Club", "jcb": "JCB"}
_METHOD_NAMES = {"amazon_pay": "Amazon Pay (devstripe test)"}


def _threeds_page(
    store: Store,
    intent: dict | None,
    return_url: str | None,
    outcome: str | None,
    problem: str | None = None,
) -> str:
    data: dict[str, Any] = {"payment_intent": None, "result": None, "redirect_url": None}
    hidden = "hidden"
    if problem:
        summary = problem
    elif intent["status"] != "requires_action" and outcome is None:
        summary = f"Nothing to authenticate: this PaymentIntent's status is {intent['status']}."
    else:
        data["payment_intent"] = intent["id"]
        pm = (
            store.get(intent["payment_method"], "payment_method")
            if intent["payment_method"]
            else None
        )
        if pm and pm["type"] != "card":
            pm = None
        brand = pm and _BRAND_NAMES.get(pm["card"]["brand"], pm["card"]["brand"].title())
        card = f" with {brand} ending in {pm['card']['last4']}" if pm else ""
        amount = f"{money(intent['amount'], intent['currency'])} {intent['currency'].upper()}"
        summary = f"Authenticate a payment of {amount}{card}."
        if outcome is None:
            hidden = ""
        else:
            authenticated = outcome == "complete"
            data["result"] = "authenticated" if authenticated else "failed"
            summary = (
                "Authentication completed."
                if authenticated
                else "Authentication failed: the payment was not authorised."
            )
            if return_url:
                separator = "&" if "?" in return_url else "?"
                data["redirect_url"] = (
                    return_url
                    + separator
                    + urlencode(
                        {
                            "payment_intent": intent["id"],
                            "payment_intent_client_secret": intent["client_secret"],
                            "redirect_status": "succeeded" if authenticated else "failed",
                        }
                    )
                )
    script_data = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e")
    values = {
        "summary": html.escape(summary),
        "hidden": hidden,
        "complete_url": f"/3ds/{data['payment_intent']}/complete",
        "fail_url": f"/3ds/{data['payment_intent']}/fail",
        "client_secret": html.escape(intent["client_secret"] if intent else "", quote=True),
        "return_url": html.escape(return_url or "", quote=True),
        "data_json": script_data,
    }
    page = THREEDS_TEMPLATE
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", value)
    return page
