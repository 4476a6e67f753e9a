"""Shared steps for the regression tests of issue 11: second attempts, outages, crashes.

The tests drive the shop through its API (in process, or over HTTP against gunicorn) and
read back what devstripe holds through the official SDK, as one would read Stripe's own
dashboard: the money is where Stripe says it is, whatever the shop's database claims.
"""

import time
from io import StringIO

import requests
from django.core.management import call_command

from orders.models import Order
from tests.helpers import payment_intents_at, succeeded_charges, token_for
from tests.orders.stripe_events import deliver
from tests.servers import WEBHOOK_SECRET

ORDERS = "/api/order/"
# A price large enough that a 50-cent foreign charge is obviously not this order's.
MUG_PRICE = "142.50"
MUG_AMOUNT = 14250
# Faults are queued generously and cleared after the call they are meant for, so the
# test does not depend on how many times the shop (or its SDK) tries.
PLENTY = 20


# -- talking to the shop ---------------------------------------------------------------


def idempotency(key):
    return {"Idempotency-Key": key} if key is not None else {}


def place(client, product, *, key=None, quantity=1, **payment):
    """POST /api/order/ with a token= or payment_method= (Django's test client)."""
    return client.post(
        ORDERS,
        {"product": product.id, "quantity": quantity, **payment},
        format="json",
        headers=idempotency(key),
    )


def pay(client, order_id, payment_method="pm_card_visa", key=None):
    """POST /api/order/<id>/pay/: another card for the same order."""
    return client.post(
        f"{ORDERS}{order_id}/pay/",
        {"payment_method": payment_method},
        format="json",
        headers=idempotency(key),
    )


def confirm(client, order_id):
    return client.post(f"{ORDERS}{order_id}/confirm/")


def order_in(response):
    """The order a response carries, as the database has it now."""
    return Order.objects.get(pk=response.json()["order"]["id"])


def declined_order_of(client, product):
    """Place an order whose card is declined: FAILED, holding its PaymentIntent."""
    response = place(client, product, payment_method="pm_card_chargeDeclined")
    assert response.status_code == 402, response.json()
    order = order_in(response)
    assert order.status == "FAILED"
    assert order.stripe_payment_intent_id
    return order


def reconcile(older_than=0):
    """Run reconcile_orders; returns everything it printed."""
    out = StringIO()
    call_command("reconcile_orders", "--older-than", str(older_than), stdout=out, stderr=out)
    return out.getvalue()


class HttpShopper:
    """A shopper's browser talking to the shop served by gunicorn (`shop_url`)."""

    def __init__(self, base_url, user):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"JWT {token_for(user)}"

    def post(self, path, body=None, key=None):
        return self.session.post(
            f"{self.base_url}{path}", json=body or {}, headers=idempotency(key), timeout=60
        )

    def place(self, product, **payment):
        return self.post(ORDERS, {"product": product.id, **payment})

    def pay(self, order_id, payment_method="pm_card_visa", key=None):
        return self.post(f"{ORDERS}{order_id}/pay/", {"payment_method": payment_method}, key)


# -- faults at devstripe ------------------------------------------------------------------


def clear_faults(devstripe):
    devstripe._call("DELETE", "/_devstripe/faults")


def while_stripe_fails(devstripe, mode, path, call, method="*"):
    """Make `call()` with every matching Stripe request failing in `mode`; then recover.

    drop_after: Stripe does the work and the answer is lost (as if the connection died,
    or the worker was killed, after Stripe committed); error_500: Stripe is down.
    """
    devstripe.add_fault(method=method, path=path, mode=mode, times=PLENTY)
    try:
        return call()
    finally:
        clear_faults(devstripe)


def while_the_payment_answer_is_lost(devstripe, order, call):
    """Make `call()` (a payment of `order`) with Stripe taking the money and the answer to
    the request that took it lost: the confirmation of the order's PaymentIntent when it
    has one at Stripe, else the creation (which confirms it at once)."""
    intents = payment_intents_at(devstripe, order)
    path = f"/v1/payment_intents/{intents[0]['id']}/confirm" if intents else "/v1/payment_intents"
    return while_stripe_fails(devstripe, "drop_after", path, call, method="POST")


# -- what Stripe holds ------------------------------------------------------------------


def money_held_for(devstripe, order):
    """What Stripe holds for an order: its succeeded charges, less what was refunded."""
    return sum(c["amount"] - c["amount_refunded"] for c in succeeded_charges(devstripe, order))


def intent_retrievals(devstripe):
    return devstripe.requests(path="/v1/payment_intents/*", method="GET")


# -- Stripe's webhooks, delivered in process ----------------------------------------------


def deliver_events(api, events):
    """POST devstripe's own events (signed as Stripe signs them) to the shop's webhook."""
    return [deliver(api, event, WEBHOOK_SECRET) for event in events]


def events_about(devstripe, stripe_id):
    """Every event whose object is `stripe_id` (or a charge of it), oldest first."""
    found = [
        event
        for event in devstripe.events()
        if stripe_id
        in (event["data"]["object"]["id"], event["data"]["object"].get("payment_intent"))
    ]
    return list(reversed(found))


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()
