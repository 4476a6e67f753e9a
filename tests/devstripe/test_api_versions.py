"""API versions: events carry the webhook endpoint's api_version, and the request log
records the Stripe-Version each request asked for."""

import json
import time

import stripe

from devstripe import API_VERSION
from devstripe.testing import DevStripe, DevStripeProcess

from .conftest import sdk_client

SECRET = "whsec_devstripe_tests"


def test_events_carry_the_default_api_version(client):
    client.v1.charges.create(params={"amount": 1500, "currency": "usd", "source": "tok_visa"})
    [event] = client.v1.events.list().data
    assert event.api_version == API_VERSION == "2026-10-28.endive"


def test_events_carry_the_webhook_endpoints_api_version(devstripe, client, receiver):
    devstripe.configure(
        webhook_url=receiver.url, webhook_secret=SECRET, webhook_api_version="2025-04-30.basil"
    )
    client.v1.charges.create(params={"amount": 1500, "currency": "usd", "source": "tok_visa"})
    [event] = client.v1.events.list().data
    assert event.api_version == "2025-04-30.basil"
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    [(_, body)] = receiver.received
    assert json.loads(body)["api_version"] == "2025-04-30.basil"
    devstripe.configure(webhook_api_version=None)
    assert devstripe.configure()["webhook_api_version"] == API_VERSION


def test_the_command_line_option_sets_the_webhook_api_version():
    with DevStripeProcess(webhook_api_version="2024-06-20", processing_delay_ms=50) as other:
        config = other.configure()
        assert (config["webhook_api_version"], config["processing_delay_ms"]) == (
            "2024-06-20",
            50,
        )
        client = sdk_client(other)
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
        assert client.v1.events.list().data[0].api_version == "2024-06-20"
    assert DevStripe is DevStripeProcess


def test_the_request_log_records_each_requests_stripe_version(devstripe, client, http):
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    pinned = sdk_client(devstripe, stripe_version="2025-04-30.basil")
    pinned.v1.payment_intents.list()
    http("GET", "/v1/events")
    logged = devstripe.requests()
    assert [r["stripe_version"] for r in logged] == [
        stripe.api_version,
        "2025-04-30.basil",
        None,
    ]
    assert stripe.api_version == API_VERSION
