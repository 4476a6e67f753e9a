"""Keeping the database cache (DATABASE_CACHE, production without Redis) to its live rows.

Django's database cache deletes an expired row only when its key is read again, or when
the table passes MAX_ENTRIES (its cull), and every write first counts the whole table
(`SELECT COUNT(*)`). The payment limits write a count per shopper and per client address
on every payment (orders.throttling), most of which are never read again: a shop that
has seen many shoppers grows the table to MAX_ENTRIES rows, nearly all long expired
(Django's cull then deletes those, and it grows again), and each payment counts them
twice. On MariaDB that is 35–38 ms of the database's CPU per payment
at 99,000 rows, against 2 ms with only live counts (bench/cache_table.py, RESULTS.md).
`reconcile_orders` deletes the expired rows every few minutes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import OperationalError, connections, router
from django.utils import timezone

log = logging.getLogger("stripedemo.cache")

# Rows deleted per statement: short statements, so that payments writing their counts
# meanwhile wait for no more than one of them.
BATCH = 500


def delete_expired_entries(alias: str = DEFAULT_CACHE_ALIAS) -> int:
    """Delete the cache's expired rows when it is the database cache; returns how many.

    A key set again in between is not expired any more, and stays: each DELETE names its
    keys and checks their expiry again. Keys are taken in their order, the order in which
    a payment writes its counts, so that the two never hold each other's rows. Should the
    database still end a DELETE (a deadlock, a lock wait timeout), the rest is left for
    the next run: this is housekeeping, and must not fail the run that called it.
    """
    backend = caches[alias]
    if not isinstance(backend, BaseDatabaseCache):
        return 0
    connection = connections[router.db_for_write(backend.cache_model_class)]
    quote = connection.ops.quote_name
    table, key, expires = (
        quote(str(settings.CACHES[alias]["LOCATION"])),
        quote("cache_key"),
        quote("expires"),
    )
    # The cache compares its expiry this way too (`_cull`): in the database's own terms.
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    deleted = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {key} FROM {table} WHERE {expires} < %s ORDER BY {key} LIMIT %s",  # noqa: S608 - quoted names
                [now, BATCH],
            )
            keys = [row[0] for row in cursor.fetchall()]
            if not keys:
                return deleted
            placeholders = ", ".join(["%s"] * len(keys))
            try:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {key} IN ({placeholders}) AND {expires} < %s",  # noqa: S608 - quoted names
                    [*keys, now],
                )
            except OperationalError as error:
                log.warning(
                    "expired cache entries left for the next run",
                    extra={
                        "deleted": deleted,
                        "error_class": type(error.__cause__ or error).__name__,
                    },
                )
                return deleted
            deleted += cursor.rowcount
            if len(keys) < BATCH:
                return deleted
