"""The order state machine, pair by pair: orders.settlement.transition and finish_attempt.

Every expected answer is written out here, not read from the table under test:

    PENDING ──► PAID ──► REFUNDED
       │          ▲
       └─► FAILED ┘      and PENDING/FAILED ──► REFUNDED (a refund seen first)

Nothing goes back to PENDING, PAID never fails, nothing leaves REFUNDED.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from orders.models import Order, PaymentAttempt
from orders.settlement import finish_attempt, transition

pytestmark = pytest.mark.django_db

PENDING, PAID, FAILED, REFUNDED = (
    Order.Status.PENDING,
    Order.Status.PAID,
    Order.Status.FAILED,
    Order.Status.REFUNDED,
)
STARTED, UNKNOWN, SUCCEEDED, ATTEMPT_FAILED, REQUIRES_ACTION = (
    PaymentAttempt.Status.STARTED,
    PaymentAttempt.Status.UNKNOWN,
    PaymentAttempt.Status.SUCCEEDED,
    PaymentAttempt.Status.FAILED,
    PaymentAttempt.Status.REQUIRES_ACTION,
)
A_DAY_AGO = timedelta(days=1)

# (from, to): does an order in `from` move to `to`? All 16 pairs.
ORDER_MOVES = {
    (PENDING, PENDING): False,
    (PENDING, PAID): True,
    (PENDING, FAILED): True,
    (PENDING, REFUNDED): True,
    (PAID, PENDING): False,
    (PAID, PAID): False,
    (PAID, FAILED): False,
    (PAID, REFUNDED): True,
    (FAILED, PENDING): False,
    (FAILED, PAID): True,
    (FAILED, FAILED): False,
    (FAILED, REFUNDED): True,
    (REFUNDED, PENDING): False,
    (REFUNDED, PAID): False,
    (REFUNDED, FAILED): False,
    (REFUNDED, REFUNDED): False,
}


@pytest.fixture
def order_in(make_product):
    """An order in the given state, last changed a day ago."""
    # No password: hashing one would take longer than the test.
    user = get_user_model().objects.create_user("transitions", "t@example.com", password=None)
    product = make_product()

    def make(status):
        order = Order.objects.create(
            user=user,
            product=product,
            quantity=1,
            amount=1999,
            currency="usd",
            status=status,
            stripe_charge_id="ch_before",
        )
        Order.objects.filter(pk=order.pk).update(updated=timezone.now() - A_DAY_AGO)
        order.refresh_from_db()
        return order

    return make


def move(order, to_status):
    return transition(order.pk, to_status, stripe_charge_id="ch_after")


def test_the_table_covers_every_pair_of_states():
    assert set(ORDER_MOVES) == {(a, b) for a in Order.Status for b in Order.Status}


@pytest.mark.parametrize(
    ("from_status", "to_status", "moves"),
    [(a, b, moves) for (a, b), moves in ORDER_MOVES.items()],
    ids=[f"{a}->{b}" for a, b in ORDER_MOVES],
)
def test_an_order_moves_exactly_when_the_state_machine_allows(
    order_in, from_status, to_status, moves
):
    order = order_in(from_status)
    other = order_in(from_status)

    assert move(order, to_status) is moves

    before = order.updated
    order.refresh_from_db()
    if moves:
        assert order.status == to_status
        assert order.stripe_charge_id == "ch_after"  # the fields come along
        assert order.updated > before
    else:
        assert order.status == from_status
        assert order.stripe_charge_id == "ch_before"
        assert order.updated == before
    # Only that order.
    other_before = other.updated
    other.refresh_from_db()
    assert (other.status, other.updated) == (from_status, other_before)


def test_a_missing_order_moves_nowhere():
    assert transition(10**9, PAID) is False


# --- finish_attempt ---------------------------------------------------------------------

# (from, to): does an attempt in `from` take the outcome `to`? The outcomes the shop
# records with finish_attempt, from every state an attempt can be in.
ATTEMPT_MOVES = {
    (STARTED, SUCCEEDED): True,
    (STARTED, ATTEMPT_FAILED): True,
    (STARTED, REQUIRES_ACTION): True,
    (UNKNOWN, SUCCEEDED): True,
    (UNKNOWN, ATTEMPT_FAILED): True,
    (UNKNOWN, REQUIRES_ACTION): True,
    (REQUIRES_ACTION, SUCCEEDED): True,
    (REQUIRES_ACTION, ATTEMPT_FAILED): True,
    (REQUIRES_ACTION, REQUIRES_ACTION): False,  # keeps the time the bank's step began
    (SUCCEEDED, SUCCEEDED): False,
    (SUCCEEDED, ATTEMPT_FAILED): False,  # Stripe's "succeeded" is final
    (SUCCEEDED, REQUIRES_ACTION): False,
    (ATTEMPT_FAILED, SUCCEEDED): True,  # Stripe's "succeeded" wins over a local failure
    (ATTEMPT_FAILED, ATTEMPT_FAILED): False,
    (ATTEMPT_FAILED, REQUIRES_ACTION): False,
}


@pytest.fixture
def attempt_in(order_in):
    """An attempt in the given state, last changed a day ago."""
    numbers = iter(range(1, 100))

    def make(status):
        order = order_in(PENDING)
        number = next(numbers)
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=1,
            kind=PaymentAttempt.Kind.PAYMENT_INTENT,
            idempotency_key=f"attempt-key-{number}",
            payment_source="pm_card_visa",
            status=status,
            stripe_id="pi_before",
        )
        PaymentAttempt.objects.filter(pk=attempt.pk).update(updated=timezone.now() - A_DAY_AGO)
        attempt.refresh_from_db()
        return attempt

    return make


@pytest.mark.parametrize(
    ("from_status", "to_status", "moves"),
    [(a, b, moves) for (a, b), moves in ATTEMPT_MOVES.items()],
    ids=[f"{a}->{b}" for a, b in ATTEMPT_MOVES],
)
def test_an_attempt_takes_an_outcome_exactly_when_it_may(attempt_in, from_status, to_status, moves):
    attempt = attempt_in(from_status)
    before = attempt.updated

    finish_attempt(attempt.pk, to_status, stripe_id="pi_after")

    attempt.refresh_from_db()
    if moves:
        assert (attempt.status, attempt.stripe_id) == (to_status, "pi_after")
        assert attempt.updated > before
    else:
        assert (attempt.status, attempt.stripe_id) == (from_status, "pi_before")
        assert attempt.updated == before


def test_succeeded_wins_over_a_recorded_failure_and_clears_nothing_it_is_not_told_to(attempt_in):
    attempt = attempt_in(ATTEMPT_FAILED)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(failure_code="card_declined")

    finish_attempt(attempt.pk, SUCCEEDED, failure_code="")

    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (SUCCEEDED, "")
    # And a late failure never undoes it.
    finish_attempt(attempt.pk, ATTEMPT_FAILED, failure_code="card_declined")
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (SUCCEEDED, "")


@pytest.mark.parametrize("status", [REQUIRES_ACTION, SUCCEEDED, ATTEMPT_FAILED])
def test_an_attempt_already_in_a_status_keeps_its_time(attempt_in, status):
    attempt = attempt_in(status)
    since = attempt.updated

    finish_attempt(attempt.pk, status, stripe_id="pi_after")

    attempt.refresh_from_db()
    assert (attempt.status, attempt.updated, attempt.stripe_id) == (status, since, "pi_before")
