"""reconcile_orders keeps the database cache to its live rows (stripedemo/cache.py).

Without Redis the payment limits' counts are rows of the database cache, and Django's
cache counts the whole table on every write: expired counts of shoppers long gone would
make every payment slower (bench/cache_table.py measures it). Each reconcile run deletes
them, and only them.
"""

import logging

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from stripedemo import cache as housekeeping
from tests.orders.attempt_helpers import reconcile
from tests.orders.conftest import CACHE_TABLE

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = {f"throttle_payment_shopper_{n}": [1.0] for n in range(3)}
# More than one batch, so that the loop over batches is taken.
EXPIRED_COUNT = 2 * housekeeping.BATCH + 7


def expire_counts(count):
    """Counts written over a minute ago by shoppers who never came back."""
    cache.set_many({f"throttle_payment_address_{n}": [1.0] for n in range(count)}, timeout=-60)


def rows():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(CACHE_TABLE)}")
        return cursor.fetchone()[0]


def test_reconcile_deletes_the_expired_counts_and_keeps_the_live_ones(database_cache, devstripe):
    cache.set_many(LIVE, timeout=60)
    expire_counts(EXPIRED_COUNT)
    assert rows() == len(LIVE) + EXPIRED_COUNT

    output = reconcile()

    assert f"{EXPIRED_COUNT} expired cache entr(ies) deleted" in output
    assert rows() == len(LIVE)
    assert cache.get_many(list(LIVE)) == LIVE
    assert "0 expired cache entr(ies) deleted" in reconcile()


def test_a_count_written_again_while_expired_ones_are_deleted_stays(database_cache):
    """The shopper pays again after the expired keys were read, just before their DELETE:
    that count is live again, and must not be lost (the limit would forget a payment)."""
    key = "throttle_payment_shopper_7"
    cache.set(key, [1.0], timeout=-60)
    expire_counts(3)
    written_again = []

    def pay_in_between(execute, sql, params, many, context):
        if sql.startswith("DELETE") and cache.make_key(key) in params and not written_again:
            written_again.append(True)
            cache.set(key, [2.0], timeout=60)  # the shopper's new payment
        return execute(sql, params, many, context)

    with connection.execute_wrapper(pay_in_between):
        deleted = housekeeping.delete_expired_entries()

    assert written_again
    assert deleted == 3
    assert cache.get(key) == [2.0]
    assert rows() == 1


def test_a_deletion_the_database_ends_leaves_the_rest_to_the_next_run_and_reconcile_finishes(
    database_cache, devstripe, caplog
):
    """A payment's counts and the deletion lock the same rows: should the database end
    a DELETE as a deadlock, reconcile_orders still does and reports the rest of its work."""
    expire_counts(EXPIRED_COUNT)
    deletes = []

    def deadlock_on_the_second_delete(execute, sql, params, many, context):
        if sql.startswith("DELETE") and CACHE_TABLE in sql:
            deletes.append(sql)
            if len(deletes) == 2:
                raise OperationalError(1213, "Deadlock found when trying to get lock")
        return execute(sql, params, many, context)

    with (
        caplog.at_level(logging.WARNING, logger="stripedemo.cache"),
        connection.execute_wrapper(deadlock_on_the_second_delete),
    ):
        output = reconcile()

    assert f"{housekeeping.BATCH} expired cache entr(ies) deleted" in output
    assert "reconciled 0 order(s)" in output
    assert "expired cache entries left for the next run" in caplog.text
    assert rows() == EXPIRED_COUNT - housekeeping.BATCH
    assert f"{EXPIRED_COUNT - housekeeping.BATCH} expired cache entr(ies) deleted" in reconcile()
    assert rows() == 0


def test_with_another_cache_nothing_is_deleted(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.set("throttle_payment_shopper_1", [1.0], timeout=60)

    assert housekeeping.delete_expired_entries() == 0
    assert cache.get("throttle_payment_shopper_1") == [1.0]
