"""What the money tests share: shop processes, a shopper over HTTP, webhooks signed as
devstripe signs them, and the money invariants of DESIGN.md checked against what
devstripe holds and what the shop's database says.

Everything read from devstripe goes through its list endpoints (GET /v1/charges,
GET /v1/payment_intents, GET /v1/events) and its /3ds/ page, never through a path the
tests inject faults on (those are POSTs, and GETs on /v1/payment_intents/ and
/v1/charges/search), so checking an invariant never consumes a fault meant for the shop.
"""

import json
import os
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import requests

from devstripe.webhooks import signature_header
from tests.servers import WEBHOOK_SECRET, start_shop, stop

PAID_STATES = ("PAID", "REFUNDED")
TERMINAL_INTENT_STATES = ("succeeded", "canceled")
WAITING_FOR_THE_SHOPPER = ("requires_action", "requires_confirmation")
# Cards Stripe declines: the only ones a first answer may call a failure (402).
DECLINING_CARDS = frozenset({"tok_chargeDeclined", "pm_card_chargeDeclined"})

_no_proxy = requests.Session()
_no_proxy.trust_env = False


# -- the shop as gunicorn processes ------------------------------------------------


class ShopProcess:
    """gunicorn serving the shop on the test database, as tests.servers.shop_server
    starts it, but keeping the process so a test can kill its workers mid-request."""

    def __init__(self, devstripe, workers=2, threads=8, **overrides):
        self.devstripe = devstripe
        self.workers = workers
        self.threads = threads
        self.overrides = overrides
        self.process = None
        self.url = None

    def start(self):
        self.process, self.url = start_shop(
            self.devstripe, self.workers, self.threads, **self.overrides
        )

    def worker_pids(self):
        """The gunicorn workers: the processes whose parent is this master."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(entry))
        return pids

    def kill_workers(self):
        """SIGKILL every worker, as a crash would: requests in flight die unanswered,
        and gunicorn's master starts new workers."""
        killed = self.worker_pids()
        for pid in killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return killed

    def ensure_up(self, seconds=30):
        """Wait until the workers answer again; restart the whole server if it died."""
        if self.process.poll() is not None:
            self.start()
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.worker_pids()) >= self.workers:
                try:
                    _no_proxy.get(f"{self.url}/api/product/", timeout=5)
                    return
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"the shop at {self.url} did not come back")

    def stop(self):
        if self.process is not None:
            stop(self.process)


# The payment throttles (429) are not what these tests are about: high enough that they
# never stand between a race and what it tests.
UNTHROTTLED = {
    "THROTTLE_PAYMENT_RATE": "10000/min",
    "THROTTLE_PAYMENT_ADDRESS_RATE": "10000/min",
    "THROTTLE_PAYMENT_DECLINES": "10000/hour",
    "THROTTLE_CONFIRM_RATE": "10000/min",
}


@contextmanager
def shop_process(devstripe, **options):
    shop = ShopProcess(devstripe, **{**UNTHROTTLED, **options})
    shop.start()
    try:
        yield shop
    finally:
        shop.stop()


# -- a shopper over HTTP ------------------------------------------------------------


@dataclass
class Answer:
    """One answer of the shop; status None when the connection died without one."""

    status: int | None
    body: dict | None = None
    replayed: bool = False
    error: str = ""

    @property
    def order(self):
        body = self.body if isinstance(self.body, dict) else {}
        order = body.get("order")
        return order if isinstance(order, dict) else None

    @property
    def order_id(self):
        return self.order["id"] if self.order else None

    @property
    def order_status(self):
        return self.order["status"] if self.order else None

    def __repr__(self):
        if self.status is None:
            return f"Answer(died: {self.error})"
        extra = " replayed" if self.replayed else ""
        return f"Answer({self.status}{extra} order={self.order_id}:{self.order_status})"


class Shopper:
    """Calls the shop's order API as a logged-in shopper (``Authorization: JWT …``)."""

    def __init__(self, token):
        self.headers = {"Authorization": f"JWT {token}"}

    def post(self, base_url, path, body, key=None, timeout=60):
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        try:
            response = _no_proxy.post(
                f"{base_url}{path}", json=body, headers=headers, timeout=timeout
            )
        except requests.RequestException as error:
            return Answer(None, error=type(error).__name__)
        try:
            payload = response.json()
        except ValueError:
            payload = {"unparsed": response.text[:500]}
        return Answer(
            response.status_code,
            payload,
            replayed=response.headers.get("Idempotent-Replayed", "").lower() == "true",
        )

    def place(self, base_url, product_id, card, quantity=1, key=None):
        return self.post(base_url, "/api/order/", place_body(product_id, card, quantity), key)

    def pay(self, base_url, order_id, card, key=None):
        return self.post(base_url, pay_path(order_id), {"payment_method": card}, key)

    def confirm(self, base_url, order_id):
        return self.post(base_url, f"/api/order/{order_id}/confirm/", None)

    def order(self, base_url, order_id):
        response = _no_proxy.get(
            f"{base_url}/api/order/{order_id}/", headers=self.headers, timeout=30
        )
        return response.json()


def place_body(product_id, card, quantity=1):
    kind = "token" if card.startswith("tok_") else "payment_method"
    return {"product": product_id, "quantity": quantity, kind: card}


def pay_path(order_id):
    return f"/api/order/{order_id}/pay/"


def at_once(*calls):
    """Run the calls in threads released together; their results, in the same order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# -- devstripe ----------------------------------------------------------------------


def _devstripe_get(devstripe, path, params):
    response = _no_proxy.get(
        f"{devstripe.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {devstripe.secret_key}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def list_all(devstripe, path, **params):
    """Every object of a devstripe list endpoint, newest first."""
    found, params = [], {"limit": 100, **params}
    while True:
        page = _devstripe_get(devstripe, path, params)
        found += page["data"]
        if not page["has_more"]:
            return found
        params["starting_after"] = found[-1]["id"]


def events_oldest_first(devstripe):
    return list(reversed(list_all(devstripe, "/v1/events")))


def clear_faults(devstripe):
    _no_proxy.delete(f"{devstripe.url}/_devstripe/faults", timeout=30).raise_for_status()


def complete_3ds(devstripe, intent, succeed=True):
    """Press Complete (or Fail) on devstripe's 3-D Secure page of a PaymentIntent in
    requires_action, as the shopper would (no /v1 request, so no fault applies)."""
    button = "complete" if succeed else "fail"
    response = _no_proxy.post(
        f"{devstripe.url}/3ds/{intent['id']}/{button}",
        data={"client_secret": intent["client_secret"]},
        timeout=30,
    )
    return response.status_code


def deliver_event(base_url, event, secret=WEBHOOK_SECRET, timeout=30):
    """POST one event to the shop's webhook exactly as devstripe (and Stripe) does: the
    same body, headers and ``Stripe-Signature: t=…,v1=HMAC-SHA256("<t>.<body>")``."""
    payload = json.dumps(event, indent=2).encode()
    try:
        response = _no_proxy.post(
            f"{base_url}/api/stripe/webhook/",
            data=payload,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature_header(payload, secret, int(time.time())),
            },
            timeout=timeout,
        )
    except requests.RequestException as error:
        return f"died: {type(error).__name__}"
    return response.status_code


def webhook_accepted(status):
    """Stripe retries anything but a 2xx; a 503 asks it to, on purpose. Anything else
    (a 500, a 400 for an event Stripe signed) is the shop failing an honest event."""
    return isinstance(status, int) and (200 <= status < 300 or status == 503)


# -- what Stripe holds, order by order -------------------------------------------------


@dataclass
class StripeState:
    charges: list
    intents: list
    foreign: frozenset = frozenset()  # charges the tests made themselves, naming our orders
    intents_by_id: dict = field(init=False)

    def __post_init__(self):
        self.intents_by_id = {intent["id"]: intent for intent in self.intents}

    @staticmethod
    def _named(obj):
        raw = (obj.get("metadata") or {}).get("order_id")
        return int(raw) if str(raw or "").isdigit() else None

    def order_of_charge(self, charge):
        """The order a charge is for: its metadata, else its PaymentIntent's metadata."""
        named = self._named(charge)
        if named is None and charge.get("payment_intent") in self.intents_by_id:
            named = self._named(self.intents_by_id[charge["payment_intent"]])
        return named

    def own_charges(self):
        """order id → the shop's own charges for it (foreign ones left out)."""
        by_order = defaultdict(list)
        for charge in self.charges:
            if charge["id"] not in self.foreign:
                by_order[self.order_of_charge(charge)].append(charge)
        return by_order

    def succeeded_charges(self):
        return {
            order_id: [c for c in charges if c["status"] == "succeeded"]
            for order_id, charges in self.own_charges().items()
        }

    def intents_of(self):
        by_order = defaultdict(list)
        for intent in self.intents:
            by_order[self._named(intent)].append(intent)
        return by_order


def read_stripe(devstripe, foreign=()):
    return StripeState(
        charges=list_all(devstripe, "/v1/charges"),
        intents=list_all(devstripe, "/v1/payment_intents"),
        foreign=frozenset(foreign),
    )


def held(charges):
    """Money Stripe holds through these charges: succeeded and not refunded."""
    return sum(c["amount"] - c["amount_refunded"] for c in charges if c["status"] == "succeeded")


def time_passes(minutes=5):
    """Let `minutes` pass for the shop: every date in the orders app moves that far into
    the past (attempt and key leases run out, orders age for reconcile_orders). Only
    between requests: the shop must not be writing a date of its own meanwhile."""
    from django.apps import apps
    from django.db import models

    for model in apps.get_app_config("orders").get_models():
        dates = [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)]
        if dates:
            shift = {name: models.F(name) - timedelta(minutes=minutes) for name in dates}
            model.objects.update(**shift)


def read_orders():
    from orders.models import Order

    fields = ("id", "amount", "currency", "status", "stripe_charge_id", "stripe_payment_intent_id")
    return {row["id"]: row for row in Order.objects.values(*fields)}


def money_problems(orders, stripe):
    """Invariants that hold at every moment, whatever is still in flight (DESIGN.md 1, 2):
    the money Stripe holds for an order never exceeds its amount; at most one
    PaymentIntent per order; a PAID or REFUNDED order is paid by a charge of its own,
    of its amount and currency (never by a foreign charge naming it); a REFUNDED
    order holds no money."""
    problems = []
    succeeded = stripe.succeeded_charges()
    intents = stripe.intents_of()
    for order_id, charges in succeeded.items():
        if charges and order_id not in orders:
            ids = [c["id"] for c in charges]
            problems.append(f"succeeded charges {ids} name no order of ours ({order_id})")
    for order_id, order in sorted(orders.items()):
        own = succeeded.get(order_id, [])
        money = held(own)
        if money > order["amount"]:
            problems.append(
                f"order {order_id}: Stripe holds {money} for an order of {order['amount']} "
                f"({[(c['id'], c['amount'], c['payment_intent']) for c in own]})"
            )
        if len(intents.get(order_id, [])) > 1:
            problems.append(
                f"order {order_id}: {len(intents[order_id])} PaymentIntents at Stripe "
                f"{[(i['id'], i['status']) for i in intents[order_id]]}"
            )
        for charge in own:
            if (charge["amount"], charge["currency"]) != (order["amount"], order["currency"]):
                problems.append(
                    f"order {order_id} ({order['amount']} {order['currency']}): own charge "
                    f"{charge['id']} of {charge['amount']} {charge['currency']}"
                )
        if order["status"] in PAID_STATES:
            own_ids = {c["id"] for c in own}
            if not own_ids:
                problems.append(
                    f"order {order_id} is {order['status']} but Stripe holds no charge of its "
                    f"own for it (charge {order['stripe_charge_id']!r}, foreign: "
                    f"{sorted(stripe.foreign)})"
                )
            elif order["stripe_charge_id"] and order["stripe_charge_id"] not in own_ids:
                problems.append(
                    f"order {order_id} is {order['status']} by charge "
                    f"{order['stripe_charge_id']!r}, not one of its own {sorted(own_ids)}"
                )
        if order["status"] == "REFUNDED" and money:
            problems.append(f"order {order_id} is REFUNDED while Stripe still holds {money}")
    return problems


def settled_problems(orders, stripe):
    """What must be true once faults are gone, every webhook delivered and reconcile run
    (past every lease): every succeeded charge of ours belongs to one PAID (or REFUNDED)
    order; no order is PENDING on a PaymentIntent that is finished (succeeded or
    canceled), nor at all unless its bank step awaits the shopper."""
    problems = money_problems(orders, stripe)
    for order_id, charges in sorted(stripe.succeeded_charges().items()):
        order = orders.get(order_id)
        if charges and order is not None and order["status"] not in PAID_STATES:
            problems.append(
                f"order {order_id} is {order['status']} although Stripe holds its succeeded "
                f"charge(s) {[c['id'] for c in charges]}"
            )
    intents = stripe.intents_of()
    for order_id, order in sorted(orders.items()):
        if order["status"] != "PENDING":
            continue
        states = {intent["id"]: intent["status"] for intent in intents.get(order_id, [])}
        if set(states.values()) & set(TERMINAL_INTENT_STATES):
            problems.append(f"order {order_id} is PENDING on finished PaymentIntent(s) {states}")
        elif not set(states.values()) & set(WAITING_FOR_THE_SHOPPER):
            # Unknown outcomes are settled by now (DESIGN.md 3); only the bank's step
            # the shopper has not done yet may keep an order pending.
            problems.append(
                f"order {order_id} is still PENDING with nothing to wait for "
                f"(PaymentIntents: {states or 'none'})"
            )
    return problems
