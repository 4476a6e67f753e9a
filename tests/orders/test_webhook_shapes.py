"""Signed webhook events of any shape are answered without a 5xx and change no order.

Stripe retries an event it got a 5xx for, for days; a signed event the shop cannot
read is acknowledged instead (or refused with a 400 when its body is not readable JSON
at all), and only a well-formed charge or PaymentIntent of an order ever moves it.
First one regression test per shape seen to answer 500 (issue 12), then Hypothesis
posting correctly signed bodies of arbitrary JSON, and events that look like ours.
"""

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order, PaymentAnomaly, StripeEvent
from orders.payments import HANDLED_EVENTS
from tests.orders.stripe_events import attempt_key, charge, deliver, event, sign
from tests.servers import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secret")]


def post_signed(client, body: bytes, header=None):
    """POST raw bytes, correctly signed unless another header is given."""
    return client.generic(
        "POST",
        "/api/stripe/webhook/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET) if header is None else header},
    )


ORDER_FIELDS = ("status", "stripe_charge_id", "stripe_payment_intent_id", "failure_code")


def snapshot(order):
    order.refresh_from_db()
    return {field: getattr(order, field) for field in ORDER_FIELDS}


UNCHANGED = {"status": "PENDING", "stripe_charge_id": "", "stripe_payment_intent_id": ""}


def assert_unchanged(order):
    state = snapshot(order)
    assert {field: state[field] for field in UNCHANGED} == UNCHANGED


def without(payload, *keys):
    return {key: value for key, value in payload.items() if key not in keys}


# --- One regression test per shape -------------------------------------------------


def shapes(order_id):
    """Signed events of shapes Stripe does not send to this shop, by name."""
    paid = event("charge.succeeded", charge(order_id))
    return {
        "no-data": without(paid, "data"),
        "no-id": without(paid, "id"),
        "no-type": without(paid, "type"),
        "data-a-list": {**paid, "data": [paid["data"]]},
        "data-a-string": {**paid, "data": "charge"},
        "data-object-null": event("charge.succeeded", None),
        "data-object-a-list": event("charge.succeeded", [charge(order_id)]),
        "data-object-a-string": event("charge.succeeded", "ch_1"),
        "metadata-a-string": event("charge.succeeded", charge(order_id, metadata="order 1")),
        "metadata-a-list": event("charge.succeeded", charge(order_id, metadata=[order_id])),
        "id-not-a-string": {**paid, "id": ["evt_1"]},
        "type-not-a-string": {**paid, "type": {"charge": "succeeded"}},
        "status-a-list": event("charge.succeeded", charge(order_id, status=["succeeded"])),
        "status-an-object": event(
            "payment_intent.succeeded",
            {"id": "pi_1", "object": "payment_intent", "status": {}, "metadata": {}},
        ),
        "amount-beyond-64-bits": event("charge.succeeded", charge(order_id, amount=10**30)),
        "amount-negative-beyond-64-bits": event(
            "charge.succeeded", charge(order_id, amount=-(10**30))
        ),
        "object-id-over-255": event("charge.succeeded", charge(order_id, charge_id="c" * 300)),
        "payment-intent-id-over-255": event(
            "charge.succeeded", charge(order_id, payment_intent="pi_" + "x" * 300)
        ),
        "currency-long": event("charge.succeeded", charge(order_id, currency="u" * 1000)),
        "lone-surrogate-in-id": {**paid, "id": "evt_\ud800"},
        "lone-surrogate-in-type": {**paid, "type": "charge.succeeded\udfff"},
        "lone-surrogate-in-object-id": event("charge.succeeded", charge(order_id, id="ch_\ud800")),
        "lone-surrogate-in-metadata": event(
            "charge.succeeded",
            charge(order_id, metadata={"order_id": str(order_id), "idempotency_key": "\ud800"}),
        ),
        "top-level-array": [paid],
        "top-level-string": "charge.succeeded",
        "top-level-number": 42,
        "top-level-null": None,
        "empty-object": {},
    }


SHAPE_NAMES = list(shapes(1))


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_a_signed_event_of_an_unexpected_shape_is_answered_and_changes_nothing(
    api, pending_order, shape
):
    response = deliver(api, shapes(pending_order.id)[shape], WEBHOOK_SECRET)

    assert response.status_code < 500
    assert_unchanged(pending_order)


@pytest.mark.parametrize("event_id", ["evt_\x00", "evt_\U0001f4b3", "EVT_1", "evt_1 "])
def test_odd_characters_in_an_event_id_are_stored_exactly(api, pending_order, event_id):
    paid = event("charge.succeeded", charge(pending_order.id), event_id=event_id)

    response = deliver(api, paid, WEBHOOK_SECRET)

    assert response.status_code == 200
    assert response.json()["outcome"] == "processed"
    assert StripeEvent.objects.get().event_id == event_id


def test_request_as_a_string_is_an_event_without_an_idempotency_key(api, pending_order):
    # Endpoints pinned to API versions before 2017-05-25 get the request's id as a string.
    paid = {**event("charge.succeeded", charge(pending_order.id)), "request": "req_abc"}

    response = deliver(api, paid, WEBHOOK_SECRET)

    assert response.status_code == 200
    assert response.json()["outcome"] == "processed"  # the charge's own key names its attempt
    assert snapshot(pending_order)["status"] == "PAID"


@pytest.mark.parametrize("request_value", ["req_abc", "", None, 7, ["req_abc"]])
def test_request_of_another_shape_is_read_as_no_key(api, pending_order, request_value):
    paid = event("charge.failed", charge(pending_order.id, status="failed"))
    paid["request"] = request_value

    response = deliver(api, paid, WEBHOOK_SECRET)

    assert response.status_code == 200
    assert snapshot(pending_order)["status"] == "FAILED"


def test_an_event_id_longer_than_the_column_is_ignored_not_stored(api, pending_order, caplog):
    # Stripe's event ids are short (evt_ and 24 to 30 characters). Cut to fit, two such
    # ids would collide and the second event would be dropped as a duplicate.
    common = "evt_" + "x" * 251
    caplog.set_level(logging.INFO, logger="orders.webhooks")

    paid = charge(pending_order.id)
    answers = [
        deliver(api, event("charge.succeeded", paid, event_id=common + tail), WEBHOOK_SECRET)
        for tail in ("a", "b")
    ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["outcome"] for answer in answers] == ["ignored", "ignored"]
    assert not StripeEvent.objects.exists()
    assert_unchanged(pending_order)
    lines = [record.getMessage() for record in caplog.records if record.name == "orders.webhooks"]
    assert len(lines) == 2  # one line per event, which never carries the id or the body
    assert all(common not in line and len(line) < 300 for line in lines)


def test_an_event_id_of_exactly_the_column_is_processed(api, pending_order):
    longest = "evt_" + "x" * 251

    response = deliver(
        api, event("charge.succeeded", charge(pending_order.id), event_id=longest), WEBHOOK_SECRET
    )

    assert response.json()["outcome"] == "processed"
    assert StripeEvent.objects.get().event_id == longest


def test_a_body_that_is_not_utf8_is_refused_with_400(api, pending_order):
    body = json.dumps(event("charge.succeeded", charge(pending_order.id))).encode()
    body = body.replace(b"charge.succeeded", b"charge.succeeded\xff")

    response = post_signed(api, body)

    assert response.status_code == 400
    assert_unchanged(pending_order)
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("depth", [900, 1_000, 100_000])
def test_deeply_nested_json_is_answered_without_a_5xx(api, pending_order, depth):
    body = b'{"id": "evt_deep", "type": "charge.succeeded", "data": {"object": '
    body += b"[" * depth + b"]" * depth + b"}}"

    response = post_signed(api, body)

    # Refused as unreadable (400) once too deep for the JSON parser, else acknowledged.
    assert response.status_code == (400 if depth > 10_000 else response.status_code)
    assert response.status_code in (200, 400)
    assert_unchanged(pending_order)


@pytest.mark.parametrize("body", [b"", b"{", b"NaN", b"\xef\xbb\xbf{}", b'{"id": 1e999999}'])
def test_a_signed_body_that_is_not_json_is_answered_without_a_5xx(api, pending_order, body):
    response = post_signed(api, body)

    assert response.status_code in (200, 400)
    assert_unchanged(pending_order)


@pytest.mark.parametrize(
    "header",
    ["t=1,v1=\u00e9", "t=\u00e9,v1=abc", "t=1,v1=abc,v1=\u00ff\u00fe", "v1=\u00e9"],
    ids=["non-ascii-signature", "non-ascii-timestamp", "non-ascii-second", "no-timestamp"],
)
def test_a_signature_header_that_is_not_ascii_is_refused_with_400(api, pending_order, header):
    body = json.dumps(event("charge.succeeded", charge(pending_order.id))).encode()

    response = post_signed(api, body, header=header)

    assert response.status_code == 400
    assert_unchanged(pending_order)


# --- Hypothesis: arbitrary shapes, and events that look like ours -------------------

texts = st.one_of(
    st.text(max_size=12),
    # Any code point, lone surrogates and NUL included: json.dumps escapes them.
    st.text(st.characters(categories=["Cs", "Cc", "Lu", "Ll", "Nd", "So"]), max_size=6),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
# Values no column holds, or that the shop has to compare with care.
odd_values = st.sampled_from(
    ["\ud800", "evt_\udfff", "\x00", "x" * 300, "", 2**63, 10**30, -1, 1999.0, True, []]
)
anything = json_values | odd_values
stripe_ids = st.uuids().map(lambda uuid: f"evt_{uuid.hex}")
handled_types = st.sampled_from(sorted(HANDLED_EVENTS))
CHARGE_STATUSES = ["succeeded", "failed", "pending"]
INTENT_STATUSES = [
    "succeeded",
    "requires_action",
    "requires_source_action",
    "processing",
    "canceled",
    "requires_payment_method",
    "requires_source",
    "requires_confirmation",
]


def stripe_objects(order_id):
    """A charge or PaymentIntent naming the order, every other field plausible or arbitrary.

    Never with the idempotency key of the order's attempt: none of them is really the
    order's, so none may move it.
    """
    metadata = st.fixed_dictionaries(
        {"order_id": st.sampled_from([str(order_id), f" {order_id}", f"{order_id}.0"])},
        optional={"idempotency_key": texts | anything},
    )
    return st.fixed_dictionaries(
        {"object": st.sampled_from(["charge", "payment_intent"])},
        optional={
            "id": st.sampled_from(["ch_1", "pi_1"]) | anything,
            "metadata": metadata | metadata | anything,
            "amount": st.just(1999) | anything,
            "currency": st.sampled_from(["usd", "USD", "eur"]) | anything,
            "status": st.sampled_from(CHARGE_STATUSES + INTENT_STATUSES) | anything,
            "refunded": st.booleans() | anything,
            "payment_intent": st.sampled_from(["pi_1", ""]) | anything,
            "latest_charge": st.just("ch_1") | anything,
            "payment_method": st.just("pm_card_visa") | anything,
            "last_payment_error": st.fixed_dictionaries({}, optional={"code": texts}) | anything,
            "failure_code": texts | anything,
            "failure_message": texts | anything,
            "client_secret": texts | anything,
        },
    )


def events(objects):
    """Events of Stripe's shape around `objects`, each field sometimes anything at all."""
    return st.fixed_dictionaries(
        {
            "id": stripe_ids | stripe_ids | anything,
            "type": handled_types | handled_types | anything,
            "data": st.fixed_dictionaries({"object": objects}) | anything,
        },
        optional={
            "object": st.just("event") | anything,
            "request": st.fixed_dictionaries(
                {}, optional={"id": texts | anything, "idempotency_key": texts | anything}
            )
            | texts
            | anything,
            "api_version": texts,
        },
    )


def spells_no_text(value):
    """Whether a JSON value holds a lone surrogate, a code point UTF-8 cannot encode."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def assert_answered_and_nothing_moved(response, payload, order, before, events_before):
    # Acknowledged; refused (400) only when a lone surrogate makes the body no text.
    assert response.status_code == (400 if spells_no_text(payload) else 200)
    if response.status_code == 200:
        assert response.json()["received"] is True
    assert snapshot(order) == before == {**before, **UNCHANGED}
    assert StripeEvent.objects.count() >= events_before


HYPOTHESIS = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(data=st.data())
def test_signed_bodies_of_any_json_shape_answer_no_5xx_and_move_no_order(api, pending_order, data):
    before, events_before = snapshot(pending_order), StripeEvent.objects.count()
    payload = data.draw(anything | events(anything), label="payload")

    response = deliver(api, payload, WEBHOOK_SECRET)

    assert_answered_and_nothing_moved(response, payload, pending_order, before, events_before)


@HYPOTHESIS
@given(data=st.data())
def test_signed_events_that_look_like_ours_answer_no_5xx_and_move_no_order(
    api, pending_order, data
):
    before, events_before = snapshot(pending_order), StripeEvent.objects.count()
    payload = data.draw(events(stripe_objects(pending_order.id)), label="payload")

    response = deliver(api, payload, WEBHOOK_SECRET)

    assert_answered_and_nothing_moved(response, payload, pending_order, before, events_before)


@HYPOTHESIS
@given(data=st.data())
def test_a_charge_naming_the_order_moves_it_only_when_it_is_the_orders(api, pending_order, data):
    """Well-formed charges of the order, a field at a time made arbitrary."""
    Order.objects.filter(pk=pending_order.pk).update(status="PENDING", stripe_charge_id="")
    own = charge(pending_order.id, charge_id="ch_own")
    field = data.draw(st.sampled_from(["amount", "currency", "metadata"]), label="field")
    value = data.draw(st.just(own[field]) | anything, label="value")
    payload = event("charge.succeeded", {**own, field: value})
    # Compared as JSON: 1999.0 == 1999 and True == 1 in Python, not in Stripe's objects.
    is_own = json.dumps(value) == json.dumps(own[field]) or (
        field == "currency" and isinstance(value, str) and value.lower() == "usd"
    )

    response = deliver(api, payload, WEBHOOK_SECRET)

    # Refused (400) only when a lone surrogate makes the body no text at all.
    assert response.status_code == (400 if spells_no_text(value) else 200)
    status = snapshot(pending_order)["status"]
    assert status == ("PAID" if is_own else "PENDING")
    if response.status_code == 200 and not is_own and field != "metadata":
        # A charge naming the order but not its own is kept for an operator.
        assert PaymentAnomaly.objects.filter(order=pending_order).exists()


def test_the_orders_own_charge_still_pays_it(api, pending_order):
    """The generated events above prove nothing if the real one did not pay."""
    response = deliver(api, event("charge.succeeded", charge(pending_order.id)), WEBHOOK_SECRET)

    assert response.json()["outcome"] == "processed"
    assert snapshot(pending_order)["status"] == "PAID"
    assert pending_order.attempts.get().idempotency_key == attempt_key(pending_order.id)


def test_the_event_id_limit_is_the_columns():
    from orders.webhooks import EVENT_ID_MAX_LENGTH

    assert StripeEvent._meta.get_field("event_id").max_length == EVENT_ID_MAX_LENGTH
