"""Trying to break payments against the shop running under gunicorn with several workers.

Faults are injected at devstripe (lost answers, 500s, slowness); buyers fire at once.
Afterwards the shop's orders and Stripe's charges must agree: one charge per paid
order, never two, never a paid charge on an unpaid or missing order.
"""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from orders.models import Order
from tests.helpers import charges_at, token_for
from tests.servers import ROOT, shop_environment, shop_server

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def buyer(shop_url, user, product, devstripe):
    session = requests.Session()
    session.headers["Authorization"] = f"JWT {token_for(user)}"

    def buy(key=None, token="tok_visa", base_url=shop_url):
        headers = {"Idempotency-Key": key} if key else {}
        return requests.post(
            f"{base_url}/api/order/",
            json={"product": product.id, "token": token},
            headers={**session.headers, **headers},
            timeout=60,
        )

    return buy


def assert_shop_and_stripe_agree(devstripe):
    charges = [c for c in charges_at(devstripe) if c["status"] == "succeeded"]
    paid = Order.objects.filter(status="PAID")
    assert sorted(c["id"] for c in charges) == sorted(o.stripe_charge_id for o in paid)
    assert sorted(int(c["metadata"]["order_id"]) for c in charges) == sorted(o.id for o in paid)
    return len(charges)


def test_twenty_simultaneous_requests_with_one_key_make_one_order(buyer, devstripe):
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: buyer(key="one-purchase"), range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    assert {r.json()["order"]["id"] for r in responses if r.status_code == 201} == {
        Order.objects.get().id
    }
    assert Order.objects.get().status == "PAID"
    assert assert_shop_and_stripe_agree(devstripe) == 1


def test_twenty_simultaneous_buyers_make_twenty_orders_and_charges(buyer, devstripe):
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda n: buyer(key=f"purchase-{n}"), range(20)))

    assert [r.status_code for r in responses] == [201] * 20
    assert Order.objects.filter(status="PAID").count() == 20
    assert assert_shop_and_stripe_agree(devstripe) == 20


def test_an_answer_lost_after_the_charge_is_retried_into_one_charge(buyer, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after", times=1)

    response = buyer()

    assert response.status_code == 201
    assert response.json()["order"]["status"] == "PAID"
    assert assert_shop_and_stripe_agree(devstripe) == 1
    sent = devstripe.requests(path="/v1/charges", method="POST")
    assert len(sent) == 2 and sent[1]["replayed"]


def test_a_500_then_success_is_one_charge(buyer, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=1)

    response = buyer()

    assert response.status_code == 201
    assert assert_shop_and_stripe_agree(devstripe) == 1


def test_stripe_slower_than_the_timeout_ends_in_one_charge(buyer, devstripe):
    # Stripe takes 3 s; the shop gives up after 1 s and does not retry, answers 503 and
    # keeps the order PENDING; Stripe finishes the charge anyway; reconcile settles it.
    devstripe.add_fault(method="POST", path="/v1/charges", mode="slow", delay_ms=3000, times=1)
    with shop_server(devstripe, STRIPE_TIMEOUT=1, STRIPE_MAX_NETWORK_RETRIES=0) as impatient:
        response = buyer(base_url=impatient)

    assert response.status_code == 503
    order = Order.objects.get()
    assert order.status == "PENDING"

    reconcile = subprocess.run(
        [sys.executable, "manage.py", "reconcile_orders", "--older-than=0"],
        cwd=ROOT, env=shop_environment(devstripe), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert reconcile.returncode == 0, reconcile.stderr

    order.refresh_from_db()
    assert order.status == "PAID", reconcile.stdout
    assert assert_shop_and_stripe_agree(devstripe) == 1


def test_a_slow_stripe_within_the_retries_is_answered_once(buyer, devstripe):
    # The first try times out while Stripe is still working; the SDK's retry with the
    # same key meets Stripe's "in progress" 409, then the replay of the one charge.
    devstripe.add_fault(method="POST", path="/v1/charges", mode="slow", delay_ms=1500, times=1)
    with shop_server(devstripe, STRIPE_TIMEOUT=1, STRIPE_MAX_NETWORK_RETRIES=4) as patient:
        response = buyer(base_url=patient)

    assert response.status_code == 201
    assert assert_shop_and_stripe_agree(devstripe) == 1


def test_a_webhook_from_stripe_settles_an_order_whose_answer_was_lost(
    buyer, devstripe, shop_url, webhooks_to
):
    webhooks_to(shop_url)
    # Late enough that the shop has answered 503 before the event arrives: the SDK's
    # retries of the lost answers (with their back-off) take seconds on a busy machine,
    # and an event arriving meanwhile rightly makes the answer 201.
    devstripe.configure(webhook_delay_ms=6000)
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after", times=3)

    response = buyer()

    assert response.status_code == 503
    assert response.json()["order"]["payment_pending"] is True
    order = Order.objects.get()

    def delivered():
        return [d for d in devstripe.webhooks() if d["type"] == "charge.succeeded"]

    # devstripe records a delivery once the shop has answered it, which is just after
    # the shop committed the order PAID: wait for both.
    wait_for(lambda: Order.objects.get().status == "PAID" and delivered())
    order.refresh_from_db()
    assert order.status == "PAID"
    assert delivered()[0]["status"] == 200
    assert assert_shop_and_stripe_agree(devstripe) == 1


def test_a_webhook_racing_the_synchronous_answer_changes_nothing_twice(
    buyer, devstripe, shop_url, webhooks_to
):
    webhooks_to(shop_url)
    devstripe.configure(latency_ms=200)  # the webhook often lands before the answer

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda n: buyer(key=f"race-{n}"), range(5)))

    assert [r.status_code for r in responses] == [201] * 5
    wait_for(lambda: len([d for d in devstripe.webhooks() if d["status"] == 200]) >= 5)
    assert Order.objects.filter(status="PAID").count() == 5
    assert assert_shop_and_stripe_agree(devstripe) == 5


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
