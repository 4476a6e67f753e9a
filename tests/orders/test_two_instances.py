"""Races between two instances of the shop, as Elastic Beanstalk runs several.

Two gunicorn processes serve the same test database (run these on MariaDB too: what
one process's lock cannot see, only the database can settle). The requests of each race
are released together, one to each instance, while devstripe answers slowly enough that
they overlap at Stripe. Afterwards Stripe and the shop must agree (money_checks): one
order per Idempotency-Key, at most one PaymentIntent and one succeeded charge per
order, and answers that say what happened.
"""

import functools

import pytest

from orders.models import Order
from tests.helpers import token_for
from tests.orders.money_checks import (
    UNTHROTTLED,
    Shopper,
    at_once,
    complete_3ds,
    deliver_event,
    events_oldest_first,
    money_problems,
    read_orders,
    read_stripe,
    webhook_accepted,
)
from tests.servers import shop_server

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

# Long enough that two requests released together are both at Stripe at once.
STRIPE_LATENCY_MS = 300
ROUNDS = 3


@pytest.fixture(scope="module")
def instances(django_db_setup, devstripe_process):
    with (
        shop_server(devstripe_process, workers=2, threads=8, **UNTHROTTLED) as one,
        shop_server(devstripe_process, workers=2, threads=8, **UNTHROTTLED) as two,
    ):
        yield [one, two]


@pytest.fixture
def slow_stripe(devstripe):
    devstripe.configure(latency_ms=STRIPE_LATENCY_MS)
    yield devstripe
    devstripe.configure(latency_ms=0)


@pytest.fixture
def shopper(user):
    return Shopper(token_for(user))


def assert_stripe_and_shop_agree(devstripe):
    stripe_state = read_stripe(devstripe)
    problems = money_problems(read_orders(), stripe_state)
    assert not problems, "\n".join(problems)
    return stripe_state


def succeeded_charges_of(stripe_state, order_id):
    return stripe_state.succeeded_charges().get(order_id, [])


@pytest.mark.parametrize("card", ["tok_visa", "pm_card_visa"])
def test_one_key_sent_to_both_instances_at_once_makes_one_order_and_one_charge(
    instances, slow_stripe, shopper, product, card
):
    for round_ in range(ROUNDS):
        key = f"one-purchase-{round_}"
        answers = at_once(
            *[
                functools.partial(shopper.place, instances[n % 2], product.id, card, key=key)
                for n in range(6)
            ]
        )

        statuses = sorted(a.status for a in answers)
        assert set(statuses) <= {201, 409}, answers
        assert 201 in statuses, answers
        orders = Order.objects.order_by("-id")
        assert orders.count() == round_ + 1, answers
        order = orders.first()
        assert {a.order_id for a in answers} <= {order.id, None}, answers
        assert order.status == "PAID"
        stripe_state = assert_stripe_and_shop_agree(slow_stripe)
        assert len(succeeded_charges_of(stripe_state, order.id)) == 1
        assert len(stripe_state.intents_of().get(order.id, [])) <= 1

        replay = shopper.place(instances[round_ % 2], product.id, card, key=key)
        assert (replay.status, replay.order_id, replay.replayed) == (201, order.id, True)


@pytest.mark.parametrize(
    "first_card, cards",
    [
        ("pm_card_chargeDeclined", ("pm_card_visa", "pm_card_visa")),
        ("tok_chargeDeclined", ("pm_card_visa", "pm_card_visa")),
        ("pm_card_chargeDeclined", ("pm_card_visa", "pm_card_chargeDeclined")),
    ],
    ids=["declined-pm-then-two-visas", "declined-token-then-two-visas", "visa-and-declined"],
)
def test_two_pay_on_one_failed_order_at_once_make_one_payment_intent(
    instances, slow_stripe, shopper, product, first_card, cards
):
    for round_ in range(ROUNDS):
        placed = shopper.place(instances[0], product.id, first_card, key=f"place-{round_}")
        assert (placed.status, placed.order_status) == (402, "FAILED"), placed
        order_id = placed.order_id

        answers = at_once(
            *[
                functools.partial(
                    shopper.pay, instances[n], order_id, card, key=f"pay-{round_}-{n}"
                )
                for n, card in enumerate(cards)
            ]
        )

        assert {a.status for a in answers} <= {200, 402, 409}, answers
        assert {a.order_id for a in answers} == {order_id}, answers
        stripe_state = assert_stripe_and_shop_agree(slow_stripe)
        intents = stripe_state.intents_of().get(order_id, [])
        assert len(intents) <= 1, intents
        paid = succeeded_charges_of(stripe_state, order_id)
        assert len(paid) <= 1
        order = Order.objects.get(pk=order_id)
        if cards == ("pm_card_visa", "pm_card_visa"):
            # One of the two pays; the other is told so (409), or shown the paid order.
            assert order.status == "PAID", answers
            assert len(paid) == 1
            assert sorted(a.status for a in answers) in ([200, 200], [200, 409]), answers
            for answer in answers:
                assert answer.status == 409 or answer.order_status == "PAID", answers
        if order.status == "PAID":
            assert [a.status for a in answers].count(200) >= 1, answers
        else:
            assert not paid
            assert 200 not in [a.status for a in answers], answers


def test_one_pay_key_sent_to_both_instances_at_once_is_one_attempt(
    instances, slow_stripe, shopper, product
):
    for round_ in range(ROUNDS):
        placed = shopper.place(instances[0], product.id, "pm_card_chargeDeclined")
        assert placed.status == 402, placed
        order_id = placed.order_id
        confirms_before = len(slow_stripe.requests(path="/v1/payment_intents/*", method="POST"))

        answers = at_once(
            *[
                functools.partial(
                    shopper.pay, instances[n], order_id, "pm_card_visa", key=f"again-{round_}"
                )
                for n in (0, 1)
            ]
        )

        assert sorted(a.status for a in answers) in ([200, 200], [200, 409]), answers
        assert Order.objects.get(pk=order_id).status == "PAID"
        stripe_state = assert_stripe_and_shop_agree(slow_stripe)
        assert len(succeeded_charges_of(stripe_state, order_id)) == 1
        sent = slow_stripe.requests(path="/v1/payment_intents/*", method="POST")[confirms_before:]
        # One attempt: whatever the shop sent Stripe for this pay/ carries one key per call.
        keys = [r["idempotency_key"] for r in sent if "/confirm" in r["path"]]
        assert len(set(keys)) == 1, sent


@pytest.mark.parametrize("succeed", [True, False], ids=["bank-step-completed", "bank-step-failed"])
def test_two_confirms_and_the_webhook_at_once_settle_once(
    instances, slow_stripe, shopper, product, succeed
):
    for _ in range(ROUNDS):
        placed = shopper.place(instances[0], product.id, "pm_card_threeDSecure2Required")
        assert placed.status == 202 and placed.body.get("requires_action"), placed
        order_id = placed.order_id
        (intent,) = read_stripe(slow_stripe).intents_of()[order_id]
        assert complete_3ds(slow_stripe, intent, succeed) == 200
        # The newest event about the PaymentIntent: paid or failed by the bank's step.
        event = [
            e for e in events_oldest_first(slow_stripe) if e["data"]["object"]["id"] == intent["id"]
        ][-1]

        first, second, webhook = at_once(
            functools.partial(shopper.confirm, instances[0], order_id),
            functools.partial(shopper.confirm, instances[1], order_id),
            functools.partial(deliver_event, instances[1], event),
        )

        assert webhook_accepted(webhook)
        order = Order.objects.get(pk=order_id)
        stripe_state = assert_stripe_and_shop_agree(slow_stripe)
        assert len(stripe_state.intents_of()[order_id]) == 1
        settled = 200 if succeed else 402
        # A confirm/ may answer from the database while the other one is asking Stripe.
        assert {first.status, second.status} <= {settled, 202}, (first, second)
        assert settled in {first.status, second.status}, (first, second)
        if succeed:
            assert order.status == "PAID"
            assert len(succeeded_charges_of(stripe_state, order_id)) == 1
        else:
            assert order.status == "FAILED"
            assert not succeeded_charges_of(stripe_state, order_id)
