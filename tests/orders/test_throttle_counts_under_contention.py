"""Payments of one shopper at once, as their limits' counts expire, never fail (issue 13).

Without Redis the limits' counts live in the database cache, written in one transaction
per payment (orders.throttling). The cache deletes a count it reads after it expired,
so two payments of one shopper arriving as their count expires both delete and write
that row: on MariaDB, InnoDB then ends one of the two transactions as a deadlock. The
benchmark found it (its counts expire every second): hundreds of payments answered 500.
A deadlocked count is now counted again (also when the cache swallowed the deadlock),
and only a database that keeps refusing gets a 503 that placed nothing. Run on SQLite
and on MariaDB, as scripts/test does.
"""

import threading
import time

import MySQLdb
import pytest
from django.core.cache.backends.db import DatabaseCache
from django.db import OperationalError, connections, transaction
from django.db.transaction import TransactionManagementError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from orders import throttling
from orders.models import IdempotencyRecord, Order
from tests.orders.attempt_helpers import place

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = 12
SECONDS = 3.0


@pytest.fixture
def counts_expiring_every_second(settings, database_cache):
    """Limits that never refuse, counted over one second: each count expires (and is
    deleted by the next read) every second of the test."""
    settings.PAYMENT_THROTTLE_RATE = "1000000/s"
    settings.PAYMENT_ADDRESS_THROTTLE_RATE = "1000000/s"


def payment_request(user):
    request = Request(APIRequestFactory().post("/api/order/", REMOTE_ADDR="203.0.113.7"))
    request.user = user
    return request


def test_one_shoppers_payments_at_once_never_fail_as_their_counts_expire(
    user, counts_expiring_every_second
):
    failures, allowed = [], []
    deadline = time.monotonic() + SECONDS

    def buyer():
        try:
            while time.monotonic() < deadline:
                throttling.PaymentThrottles().allow_request(payment_request(user), None)
                allowed.append(1)
        except Exception as error:  # every one is a failure the shopper would have seen
            failures.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buyer) for _ in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(allowed) > BUYERS * SECONDS  # they really raced, through several expiries


def deadlock():
    """What Django raises when InnoDB ends a transaction as a deadlock's victim."""
    error = OperationalError(1213, "Deadlock found when trying to get lock")
    error.__cause__ = MySQLdb.OperationalError(1213, "Deadlock found when trying to get lock")
    return error


def failing(times, error_factory):
    calls = []

    def work():
        calls.append(1)
        if len(calls) <= times:
            raise error_factory()
        return "counted"

    return work, calls


def test_a_transaction_ended_as_a_deadlock_is_counted_again(database_cache):
    work, calls = failing(throttling.DEADLOCK_ATTEMPTS - 1, deadlock)

    assert throttling._in_one_transaction(work) == "counted"
    assert len(calls) == throttling.DEADLOCK_ATTEMPTS


def test_a_database_that_keeps_deadlocking_gets_a_503_that_placed_nothing(database_cache):
    work, calls = failing(throttling.DEADLOCK_ATTEMPTS, deadlock)

    with pytest.raises(throttling.CountsBusy) as busy:
        throttling._in_one_transaction(work)

    assert busy.value.status_code == 503
    assert len(calls) == throttling.DEADLOCK_ATTEMPTS


def test_counts_the_cache_left_broken_are_counted_again(database_cache):
    """The cache writes each key in a savepoint and ignores a failed write: a deadlock
    there ended the whole transaction, and Django then refuses the next query, or (with
    none) would end the block rolled back, the request uncounted."""
    calls = []

    def work():
        calls.append(1)
        if len(calls) == 1:
            raise TransactionManagementError("An error occurred in the current transaction.")
        if len(calls) == 2:
            transaction.set_rollback(True)  # as the cache leaves it after a swallowed error
        return "counted"

    assert throttling._in_one_transaction(work) == "counted"
    assert len(calls) == 3


def test_other_database_errors_are_not_run_again(database_cache):
    work, calls = failing(1, lambda: OperationalError("database is locked"))

    with pytest.raises(OperationalError, match="database is locked"):
        throttling._in_one_transaction(work)

    assert len(calls) == 1


class DeadlockingDatabaseCache(DatabaseCache):
    """The database cache, whose reads InnoDB ends as a deadlock's victim while
    `deadlocks_left` lasts: the fault, at the cache's own boundary."""

    deadlocks_left = 0

    def get_many(self, keys, version=None):
        if DeadlockingDatabaseCache.deadlocks_left > 0:
            DeadlockingDatabaseCache.deadlocks_left -= 1
            raise deadlock()
        return super().get_many(keys, version)


@pytest.fixture
def deadlocking_cache(settings, database_cache):
    # The database cache as `database_cache` set it up, with only its class changed.
    default = settings.CACHES["default"]
    settings.CACHES = {"default": {**default, "BACKEND": f"{__name__}.DeadlockingDatabaseCache"}}
    yield DeadlockingDatabaseCache
    DeadlockingDatabaseCache.deadlocks_left = 0


def test_a_payment_the_shop_was_too_busy_to_count_placed_nothing_and_its_key_is_free(
    shopper_api, product, devstripe, deadlocking_cache
):
    deadlocking_cache.deadlocks_left = throttling.DEADLOCK_ATTEMPTS

    busy = place(shopper_api, product, key="busy-1", token="tok_visa")

    assert busy.status_code == 503
    assert busy.json()["success"] is False and "order" not in busy.json()
    assert not Order.objects.exists() and not IdempotencyRecord.objects.exists()
    assert devstripe.requests(path="/v1/charges", method="POST") == []

    # The same purchase, sent again with the same key, is placed and paid once.
    again = place(shopper_api, product, key="busy-1", token="tok_visa")

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Order.objects.get().status == "PAID"
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1


def test_a_payment_counted_after_a_deadlock_is_placed_once(
    shopper_api, product, devstripe, deadlocking_cache
):
    deadlocking_cache.deadlocks_left = throttling.DEADLOCK_ATTEMPTS - 1

    paid = place(shopper_api, product, key="after-deadlocks", token="tok_visa")

    assert paid.status_code == 201
    assert Order.objects.get().status == "PAID"
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1
