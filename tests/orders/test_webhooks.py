"""POST /api/stripe/webhook/: signed, processed once, and only ever moving orders forward."""

import json
import time

import pytest

from orders.models import Order, PaymentAnomaly, StripeEvent
from tests.orders.stripe_events import charge, deliver, event, sign
from tests.servers import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secret")]


def status_of(order):
    order.refresh_from_db()
    return order.status


def test_charge_succeeded_pays_a_pending_order(api, pending_order):
    response = deliver(
        api, event("charge.succeeded", charge(pending_order.id, charge_id="ch_1")), WEBHOOK_SECRET
    )

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "processed"}
    pending_order.refresh_from_db()
    assert pending_order.status == "PAID"
    assert pending_order.stripe_charge_id == "ch_1"
    assert StripeEvent.objects.get().order == pending_order


def test_charge_failed_fails_a_pending_order(api, pending_order):
    deliver(api, event("charge.failed", charge(pending_order.id, status="failed")), WEBHOOK_SECRET)

    pending_order.refresh_from_db()
    assert pending_order.status == "FAILED"
    assert pending_order.failure_message == "Your card was declined."


def test_charge_refunded_refunds_a_paid_order(api, pending_order):
    deliver(
        api, event("charge.succeeded", charge(pending_order.id, charge_id="ch_1")), WEBHOOK_SECRET
    )
    deliver(
        api,
        event("charge.refunded", charge(pending_order.id, charge_id="ch_1", refunded=True)),
        WEBHOOK_SECRET,
    )

    assert status_of(pending_order) == "REFUNDED"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1700000000,v1=deadbeef",
        sign(b"some other body", WEBHOOK_SECRET),
        sign(b"x", "whsec_someone_elses_secret"),
    ],
    ids=["unsigned", "garbage", "signature-of-another-body", "wrong-secret"],
)
def test_unsigned_or_forged_events_are_refused_and_change_nothing(api, pending_order, signature):
    payload = event("charge.succeeded", charge(pending_order.id))

    response = deliver(api, payload, WEBHOOK_SECRET, signature=signature)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert status_of(pending_order) == "PENDING"
    assert not StripeEvent.objects.exists()


def test_an_event_signed_with_another_secret_is_refused(api, pending_order):
    response = deliver(api, event("charge.succeeded", charge(pending_order.id)), "whsec_not_ours")

    assert response.status_code == 400
    assert status_of(pending_order) == "PENDING"


def test_a_stale_timestamp_is_refused(api, pending_order):
    an_hour_ago = int(time.time()) - 3600

    response = deliver(
        api,
        event("charge.succeeded", charge(pending_order.id)),
        WEBHOOK_SECRET,
        timestamp=an_hour_ago,
    )

    assert response.status_code == 400
    assert status_of(pending_order) == "PENDING"


def test_the_signature_is_checked_over_the_raw_bytes(api, pending_order):
    # The same JSON with other whitespace is another body: a re-serialised
    # request.data would wrongly pass.
    payload = event("charge.succeeded", charge(pending_order.id))
    signed_body = json.dumps(payload).encode()
    sent_body = json.dumps(payload, indent=2).encode()

    response = api.generic(
        "POST", "/api/stripe/webhook/", sent_body, content_type="application/json",
        headers={"Stripe-Signature": sign(signed_body, WEBHOOK_SECRET)},
    )  # fmt: skip

    assert response.status_code == 400
    assert status_of(pending_order) == "PENDING"


def test_a_redelivered_event_is_acknowledged_and_ignored(api, pending_order):
    paid = event("charge.succeeded", charge(pending_order.id), event_id="evt_once")
    assert deliver(api, paid, WEBHOOK_SECRET).json()["outcome"] == "processed"
    Order.objects.filter(pk=pending_order.pk).update(status="PENDING")  # would show a second run

    again = deliver(api, paid, WEBHOOK_SECRET)

    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert status_of(pending_order) == "PENDING"
    assert StripeEvent.objects.count() == 1


def test_a_late_failure_never_unpays_a_paid_order(api, pending_order):
    deliver(api, event("charge.succeeded", charge(pending_order.id)), WEBHOOK_SECRET)
    deliver(api, event("charge.failed", charge(pending_order.id, status="failed")), WEBHOOK_SECRET)

    assert status_of(pending_order) == "PAID"


def test_nothing_leaves_refunded(api, pending_order):
    deliver(api, event("charge.refunded", charge(pending_order.id, refunded=True)), WEBHOOK_SECRET)
    deliver(api, event("charge.succeeded", charge(pending_order.id)), WEBHOOK_SECRET)
    deliver(api, event("charge.failed", charge(pending_order.id, status="failed")), WEBHOOK_SECRET)

    assert status_of(pending_order) == "REFUNDED"


def test_a_success_after_a_failure_pays_the_order(api, pending_order):
    deliver(api, event("charge.failed", charge(pending_order.id, status="failed")), WEBHOOK_SECRET)
    deliver(api, event("charge.succeeded", charge(pending_order.id)), WEBHOOK_SECRET)

    pending_order.refresh_from_db()
    assert pending_order.status == "PAID"
    assert pending_order.failure_message == ""


def test_an_event_for_an_unknown_order_is_logged_and_acknowledged(api, caplog):
    unknown = charge(987654)
    event_object_id = unknown["id"]
    response = deliver(api, event("charge.succeeded", unknown), WEBHOOK_SECRET)

    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_order"
    [anomaly] = [record for record in caplog.records if record.getMessage() == "payment anomaly"]
    assert anomaly.reason == "names an order that does not exist"
    assert anomaly.stripe_id == event_object_id
    assert PaymentAnomaly.objects.get().stripe_id == event_object_id


def test_other_event_types_are_acknowledged_and_ignored(api, pending_order):
    response = deliver(
        api, event("customer.created", {"id": "cus_1", "object": "customer"}), WEBHOOK_SECRET
    )

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert status_of(pending_order) == "PENDING"


def test_only_post_is_allowed(api):
    response = api.get("/api/stripe/webhook/")

    assert response.status_code == 405
    assert response.json()["success"] is False
