"""Events, and their delivery as webhooks signed the way Stripe signs them, checked with
the SDK's own stripe.Webhook.construct_event."""

import time

import pytest
import stripe

from devstripe import API_VERSION

SECRET = "whsec_devstripe_tests"


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def pay(client, source="tok_visa", key=None, **params):
    options = {"idempotency_key": key} if key else {}
    return client.v1.charges.create(
        params={"amount": 1500, "currency": "usd", "source": source, **params}, options=options
    )


def test_a_charge_makes_an_event_with_a_snapshot_of_it(client):
    made = pay(client, key="evt-key", metadata={"order_id": "5"})
    [event] = client.v1.events.list().data
    assert event.id.startswith("evt_") and event.object == "event"
    assert (event.type, event.api_version, event.livemode) == (
        "charge.succeeded",
        API_VERSION,
        False,
    )
    assert event.data.object.id == made.id
    assert event.data.object.metadata.order_id == "5"
    assert event.request.id == made.last_response.request_id
    assert event.request.idempotency_key == "evt-key"
    assert event.pending_webhooks == 0  # no endpoint configured
    assert client.v1.events.retrieve(event.id).id == event.id


def test_snapshots_do_not_change_afterwards(client):
    made = pay(client)
    client.v1.refunds.create(params={"charge": made.id})
    events = {e.type: e for e in client.v1.events.list().data}
    assert events["charge.succeeded"].data.object.refunded is False
    refunded = events["charge.refunded"]
    assert refunded.data.object.refunded is True
    assert refunded.data.previous_attributes.to_dict() == {"amount_refunded": 0, "refunded": False}
    assert events["refund.created"].data.object.object == "refund"


def test_events_are_filtered_by_type(client):
    pay(client)
    with pytest.raises(stripe.CardError):
        pay(client, "tok_chargeDeclined")
    assert [e.type for e in client.v1.events.list(params={"type": "charge.failed"}).data] == [
        "charge.failed"
    ]
    assert len(client.v1.events.list(params={"type": "charge.*"}).data) == 2


def test_a_missing_event_is_a_404(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.events.retrieve("evt_nope")
    assert caught.value.http_status == 404


def test_events_are_posted_signed_as_stripe_signs_them(devstripe, client, receiver):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET)
    made = pay(client)
    assert wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Stripe-Signature"].startswith("t=")
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert (event.type, event.data.object.id) == ("charge.succeeded", made.id)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_wrong")

    [delivery] = wait_for(devstripe.webhooks)
    assert (delivery["event_id"], delivery["type"], delivery["status"], delivery["attempt"]) == (
        event.id,
        "charge.succeeded",
        200,
        1,
    )
    assert wait_for(lambda: client.v1.events.retrieve(event.id).pending_webhooks == 0)


def test_failed_deliveries_are_retried(devstripe, client, receiver):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.statuses = [500, 503]
    pay(client)
    deliveries = wait_for(lambda: [d for d in devstripe.webhooks() if d["ok"]])
    assert deliveries
    attempts = [(d["attempt"], d["status"]) for d in devstripe.webhooks()]
    assert attempts == [(1, 500), (2, 503), (3, 200)]
    first, _, last = receiver.events()
    assert first["id"] == last["id"]


def test_an_unreachable_endpoint_is_logged_and_given_up(devstripe, client, receiver):
    url = receiver.url
    receiver.close()
    devstripe.configure(webhook_url=url, webhook_secret=SECRET)
    pay(client)
    deliveries = wait_for(lambda: len(devstripe.webhooks()) >= 4 and devstripe.webhooks())
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 4]
    assert all(d["status"] is None and d["error"] and not d["ok"] for d in deliveries)
    [event] = client.v1.events.list().data
    assert event.pending_webhooks == 1


def test_webhook_delay_holds_deliveries_back(devstripe, client, receiver):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET, webhook_delay_ms=400)
    pay(client)
    time.sleep(0.2)
    assert receiver.received == []
    assert wait_for(lambda: receiver.received)


def test_an_event_can_be_sent_again(devstripe, client, receiver):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET)
    pay(client)
    wait_for(lambda: receiver.received)
    event_id = receiver.events()[0]["id"]
    assert devstripe.resend_event(event_id) == {"event": event_id, "queued": True}
    assert wait_for(lambda: len(receiver.received) == 2)
    assert [e["id"] for e in receiver.events()] == [event_id, event_id]


def test_a_payment_intent_flow_delivers_every_state_change(devstripe, client, receiver):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET)
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "payment_method_types": ["card"],
                "confirm": True,
            }
        )
    expected = {"payment_intent.created", "charge.failed", "payment_intent.payment_failed"}
    assert wait_for(lambda: {e["type"] for e in receiver.events()} == expected)


def test_nothing_is_sent_without_a_configured_endpoint(devstripe, client, receiver):
    pay(client)
    time.sleep(0.3)
    assert receiver.received == [] and devstripe.webhooks() == []
    with pytest.raises(Exception, match="No webhook_url"):
        devstripe.resend_event(client.v1.events.list().data[0].id)
