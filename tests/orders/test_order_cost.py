"""What one order costs the database (issue 13).

SQLite takes one database-wide lock per write transaction, and a busy shop's orders
queue behind it: a paid order must cost few statements and few write transactions. The
counts are taken on the path a shopper's POST /api/order/ takes (in process, paying at
devstripe over HTTP), with no transaction around the test (`transaction=True`), so that
every BEGIN and COMMIT is the shop's own.

An order costs at most 8 statements (the shopper, the product, the order, its attempt
and the Idempotency-Key inserted in one transaction before Stripe is called; the
attempt, the order and the key's answer updated in one after it) and 2 write
transactions, whichever way it is paid (a token, a PaymentMethod or a
ConfirmationToken); the throttles' counts come on top when they live in the database
cache.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db import connection

from orders import payments
from orders.models import IdempotencyRecord, Order, PaymentAttempt
from tests.orders.confirmation_token_helpers import card_token
from tests.orders.conftest import CACHE_TABLE

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "/api/order/"
KEY = "purchase-1"

# What an order may cost (see the module's docstring).
ORDER_STATEMENTS = 8
ORDER_WRITE_TRANSACTIONS = 2
# A replay is told apart from a first request by the database's refusal of the key,
# in the transaction that would have placed its order: that one is rolled back.
REPLAY_STATEMENTS = 5
REPLAY_WRITE_TRANSACTIONS = 1
# With the throttles' counts in the database cache: one read of the three counts and
# one write transaction for the two that count requests (Django's cache writes a key
# with a COUNT, a SELECT and an UPDATE or INSERT), plus one read and write more for a
# decline, and a DELETE when a count found has expired.
THROTTLE_STATEMENTS = 1 + 2 * 3 + 1
DECLINE_STATEMENTS = 1 + 3 + 1
THROTTLE_WRITE_TRANSACTIONS = 1


# Statements that start, end or nest a transaction: not work the shop asked for. On
# SQLite Django sends BEGIN itself (MySQL's client library starts transactions unseen).
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# BEGIN IMMEDIATE (the shop's SQLite setting) takes SQLite's write lock at once, and
# SELECT … FOR UPDATE takes row locks: either makes a write transaction of its block.
LOCKING = re.compile(r"^\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b|\bFOR\s+UPDATE\b", re.IGNORECASE)


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    write_transactions: int = 0
    transactions: int = 0
    # Statements of the current transaction so far, and whether one wrote or locked.
    _open: list[str] = field(default_factory=list)
    _writing: bool = False

    def of_the_cache(self) -> list[str]:
        return [sql for sql in self.statements if CACHE_TABLE in sql]

    def of_the_shop(self) -> list[str]:
        return [sql for sql in self.statements if CACHE_TABLE not in sql]

    def __str__(self) -> str:
        listing = "\n".join(f"  {sql[:150]}" for sql in self.statements)
        return (
            f"{len(self.statements)} statements, {self.write_transactions} write "
            f"transactions ({self.transactions} in all):\n{listing}"
        )


@contextmanager
def counting():
    """Count the statements sent on the test's connection (the shop runs in process),
    and the transactions that take a write lock: an atomic block that wrote or locked
    (counted when it commits or rolls back), and each write statement run outside one
    (in autocommit, its own transaction)."""
    cost = Cost()

    def execute(run, sql, params, many, context):
        if not CONTROL.match(sql):
            cost.statements.append(sql)
        writes = bool(WRITE.match(sql) or LOCKING.search(sql))
        # SQLite's BEGIN is sent just before Django marks the block atomic.
        if connection.in_atomic_block or CONTROL.match(sql):
            cost._open.append(sql)
            cost._writing = cost._writing or writes
        elif writes:
            cost.write_transactions += 1
            cost.transactions += 1
        return run(sql, params, many, context)

    def ending(finish):
        def end():
            if cost._open:
                cost.transactions += 1
                cost.write_transactions += cost._writing
            cost._open, cost._writing = [], False
            return finish()

        return end

    connection.commit = ending(connection.commit)
    connection.rollback = ending(connection.rollback)
    try:
        with connection.execute_wrapper(execute):
            yield cost
    finally:
        del connection.commit, connection.rollback


@contextmanager
def at_most(django_assert_max_num_queries, statements, write_transactions, savepoints=0):
    """pytest-django's count of every query logged, and ours of statements and write
    transactions. Django logs each transaction's BEGIN and COMMIT (or ROLLBACK) too,
    and a savepoint's SAVEPOINT and RELEASE."""
    logged = statements + 2 * write_transactions + 2 * savepoints
    with counting() as cost, django_assert_max_num_queries(logged, info=cost):
        yield cost
    assert len(cost.statements) <= statements, cost
    assert cost.write_transactions <= write_transactions, cost


@pytest.fixture
def buy(shopper_api, product, devstripe):
    def post(key=KEY, **payment):
        return shopper_api.post(
            ORDERS,
            {"product": product.id, "quantity": 1, **payment},
            format="json",
            headers={"Idempotency-Key": key},
        )

    return post


class ConfirmationToken:
    """A ConfirmationToken (single use) made at devstripe for the test card, fresh per
    order: `body()` puts its id where this stands."""

    def __init__(self, payment_method):
        self.payment_method = payment_method


PAYMENTS = {
    "token": ({"token": "tok_visa"}, 201, "PAID"),
    "payment_intent": ({"payment_method": "pm_card_visa"}, 201, "PAID"),
    "confirmation_token": (
        {"confirmation_token": ConfirmationToken("pm_card_visa")},
        201,
        "PAID",
    ),
    "declined_token": ({"token": "tok_chargeDeclined"}, 402, "FAILED"),
    "declined_payment_intent": ({"payment_method": "pm_card_chargeDeclined"}, 402, "FAILED"),
    "declined_confirmation_token": (
        {"confirmation_token": ConfirmationToken("pm_card_chargeDeclined")},
        402,
        "FAILED",
    ),
}


def body(devstripe, payment):
    """The request body of one order paid as PAYMENTS says (made before the count)."""
    return {
        name: card_token(devstripe, value.payment_method)
        if isinstance(value, ConfirmationToken)
        else value
        for name, value in PAYMENTS[payment][0].items()
    }


def answered(response, status, order_status):
    assert response.status_code == status, response.json()
    order = Order.objects.get(pk=response.json()["order"]["id"])
    assert order.status == response.json()["order"]["status"] == order_status
    return order


@pytest.mark.parametrize("payment", PAYMENTS)
def test_an_order_costs_8_statements_in_2_write_transactions(
    buy, payment, django_assert_max_num_queries, devstripe
):
    _, status, order_status = PAYMENTS[payment]
    paying = body(devstripe, payment)

    with at_most(django_assert_max_num_queries, ORDER_STATEMENTS, ORDER_WRITE_TRANSACTIONS):
        response = buy(**paying)

    order = answered(response, status, order_status)
    attempt = order.attempts.get()
    assert attempt.status == ("succeeded" if order_status == "PAID" else "failed")
    record = IdempotencyRecord.objects.get(key=KEY)
    assert record.order_id == order.id
    assert (record.response_status, record.response_body) == (status, response.json())


@pytest.mark.parametrize("payment", PAYMENTS)
def test_a_replayed_key_costs_5_statements_and_leaves_nothing_written(
    buy, payment, django_assert_max_num_queries, devstripe
):
    _, status, order_status = PAYMENTS[payment]
    paying = body(devstripe, payment)
    first = buy(**paying)
    stripe_calls = len(devstripe.requests(method="POST"))

    with at_most(django_assert_max_num_queries, REPLAY_STATEMENTS, REPLAY_WRITE_TRANSACTIONS):
        replay = buy(**paying)

    assert replay.status_code == first.status_code == status
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == PaymentAttempt.objects.count() == 1
    assert len(devstripe.requests(method="POST")) == stripe_calls


@pytest.mark.parametrize("payment", PAYMENTS)
def test_with_the_database_cache_the_throttles_add_one_read_and_one_write_transaction(
    buy, payment, database_cache, django_assert_max_num_queries, devstripe
):
    _, status, order_status = PAYMENTS[payment]
    buy(key="warm-up", **body(devstripe, payment))  # the counts exist: a next payment's cost
    paying = body(devstripe, payment)
    declined = order_status == "FAILED"
    throttles = THROTTLE_STATEMENTS + (DECLINE_STATEMENTS if declined else 0)
    throttle_transactions = THROTTLE_WRITE_TRANSACTIONS * (2 if declined else 1)
    # Django's database cache writes each key in an atomic block: a savepoint in ours.
    cache_writes = 2 + declined

    with at_most(
        django_assert_max_num_queries,
        ORDER_STATEMENTS + throttles,
        ORDER_WRITE_TRANSACTIONS + throttle_transactions,
        savepoints=cache_writes,
    ) as cost:
        response = buy(**paying)

    answered(response, status, order_status)
    assert len(cost.of_the_shop()) <= ORDER_STATEMENTS, cost
    assert len(cost.of_the_cache()) <= throttles, cost


@pytest.mark.parametrize("cache_backend", ["locmem", "database"])
def test_the_throttles_count_payments_and_declines_with_either_cache(
    buy, cache_backend, request, settings
):
    if cache_backend == "database":
        request.getfixturevalue("database_cache")
    settings.PAYMENT_THROTTLE_RATE = "3/min"
    paid = [buy(key=f"paid-{n}", token="tok_visa").status_code for n in range(5)]
    settings.PAYMENT_THROTTLE_RATE = "1000/min"
    settings.PAYMENT_DECLINE_LIMIT = "2/hour"
    declined = [buy(key=f"declined-{n}", token="tok_chargeDeclined") for n in range(3)]

    assert paid == [201, 201, 201, 429, 429]
    assert [response.status_code for response in declined] == [402, 402, 429]
    assert "cards were declined" in declined[2].json()["error"]


@pytest.mark.parametrize("call", ["create_charge", "confirm_payment_intent"])
def test_stripe_is_called_with_the_attempt_committed_and_no_transaction_open(
    buy, call, monkeypatch
):
    """A crash while Stripe answers leaves the attempt saved with its key, to be settled."""
    seen = []
    real = getattr(payments, call)

    def calling_stripe(*args, **kwargs):
        seen.append(
            (
                connection.in_atomic_block,
                list(PaymentAttempt.objects.values_list("status", "idempotency_key")),
                list(IdempotencyRecord.objects.values_list("key", "order_id")),
            )
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(payments, call, calling_stripe)
    card = {"token": "tok_visa"} if call == "create_charge" else {"payment_method": "pm_card_visa"}

    response = buy(**card)

    order = answered(response, 201, "PAID")
    [(in_transaction, attempts_then, keys_then)] = seen
    assert not in_transaction
    assert attempts_then == [("started", order.attempts.get().idempotency_key)]
    assert keys_then == [(KEY, order.id)]
