"""What a payment's limits cost with the database cache, by the size of its table.

    python -m bench.cache_table [--db mysql|sqlite] [--payments 300] [--rounds 3]

Without Redis the payment limits' counts are rows of the database cache (production's
default), and Django's cache counts the whole table (`SELECT COUNT(*)`) on every write.
bench/run.py's buyers are one shopper on one address, so its table holds a few rows; a
shop that has served many shoppers holds up to MAX_ENTRIES of them, nearly all expired,
until `reconcile_orders` deletes the expired ones (stripedemo/cache.py). This runs the
limits of one payment (orders.throttling.PaymentThrottles: one read, two counts written
in one transaction) against tables of expired counts, then again after the deletion, and
prints per payment the shop's CPU, the database server's CPU (MariaDB's, from /proc,
when it runs here) and the wall time: medians of the rounds, with their spread.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# As bench/run.py: MariaDB or MySQL at MYSQL_URL, in a database of its own, dropped after.
MYSQL_URL = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306").rstrip("/")
MYSQL_URL += "/bench_cache_table"
SQLITE_URL = "sqlite:////tmp/bench_cache_table.sqlite3"
SIZES = (0, 10_000, 50_000, 99_000)
LIVE_SHOPPERS = 50  # the shoppers paying during a round: their counts stay live


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("mysql", "sqlite"), default="mysql")
    parser.add_argument("--payments", type=int, default=300, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


ARGS = parse_args()
ROOT = Path(__file__).resolve().parent.parent
URL = MYSQL_URL if ARGS.db == "mysql" else SQLITE_URL
if ARGS.db == "mysql":
    subprocess.run(
        [sys.executable, "scripts/mysql_database.py", "create", URL], cwd=ROOT, check=True
    )
else:
    Path(URL.removeprefix("sqlite:///")).unlink(missing_ok=True)
os.environ.update(
    # Production's settings, as bench/run.py's server has them (DEBUG off: no query log).
    DJANGO_SETTINGS_MODULE="stripedemo.settings",
    DJANGO_DEBUG="false",
    DJANGO_SECRET_KEY=os.urandom(32).hex(),
    STRIPE_SECRET_KEY="sk_test_bench_cache_table",
    STRIPE_PUBLISHABLE_KEY="pk_test_bench_cache_table",
    STRIPE_WEBHOOK_SECRET="whsec_bench_cache_table",
    FRONTEND_URL="https://127.0.0.1",
    DATABASE_URL=URL,
    DATABASE_CACHE="true",
    LOG_LEVEL="WARNING",
    THROTTLE_PAYMENT_RATE="1000000/min",
    THROTTLE_PAYMENT_ADDRESS_RATE="1000000/min",
)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from bench.run import database_server_cpu, load_average, spread  # noqa: E402
from orders.throttling import PaymentThrottles  # noqa: E402
from stripedemo.cache import delete_expired_entries  # noqa: E402

TABLE = settings.CACHES["default"]["LOCATION"]


def fill_with_expired_counts(rows):
    """Counts of shoppers and addresses gone for over a minute, as a long-running shop's."""
    cache.clear()
    expired = datetime(2020, 1, 1, tzinfo=UTC)
    value = connection.ops.adapt_datetimefield_value(expired)
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, rows, 5000):
            cursor.executemany(
                f"INSERT INTO {quote(TABLE)} ({quote('cache_key')}, {quote('value')}, "
                f"{quote('expires')}) VALUES (%s, %s, %s)",
                [
                    (cache.make_key(f"throttle_payment_address_gone-{n}"), "gAJdcQAu", value)
                    for n in range(start, min(start + 5000, rows))
                ],
            )


def payment_requests():
    """One payment's request for each live shopper, each from an address of its own."""
    factory = APIRequestFactory()
    requests = []
    for n in range(1, LIVE_SHOPPERS + 1):
        request = Request(factory.post("/api/order/", REMOTE_ADDR=f"10.0.0.{n}"))
        request.user = User(pk=n)
        requests.append(request)
    return requests


def measure(requests, database):
    rounds = []
    for _ in range(ARGS.rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        db_before = database.seconds() if database else 0.0
        for n in range(ARGS.payments):
            PaymentThrottles().allow_request(requests[n % len(requests)], None)
        rounds.append(
            (
                (time.process_time() - cpu) * 1000 / ARGS.payments,
                (database.seconds() - db_before) * 1000 / ARGS.payments if database else None,
                (time.perf_counter() - wall) * 1000 / ARGS.payments,
            )
        )
    return rounds


def figure(values):
    figures = spread(values)  # None when there is no figure (no database server here)
    if figures is None:
        return "-"
    return f"{figures['median']:.2f} ({figures['min']:.2f}–{figures['max']:.2f})"


def table_row(label, rounds):
    """A line of the table: the rounds' shop CPU, database CPU and wall time."""
    return (
        f"| {label} | "
        + " | ".join(figure(r[column] for r in rounds) for column in range(3))
        + " |"
    )


def main():
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    database = database_server_cpu(ARGS.db)
    requests = payment_requests()
    print(
        f"load average before: {load_average()}; {connection.vendor}, {ARGS.payments} "
        f"payments × {ARGS.rounds} rounds per line"
    )
    print("| cache table | shop CPU ms | database CPU ms | wall ms |")
    print("|---|---:|---:|---:|")
    for rows in SIZES:
        fill_with_expired_counts(rows)
        measure(requests, None)  # warm-up: the live counts written once
        rounds = measure(requests, database)
        print(table_row(f"{rows:,} expired rows", rounds), flush=True)
    deleted = delete_expired_entries()
    if deleted != SIZES[-1]:
        raise SystemExit(f"reconcile_orders' deletion removed {deleted} rows, not {SIZES[-1]}")
    rounds = measure(requests, database)
    print(table_row(f"after reconcile_orders ({deleted:,} deleted)", rounds))
    print(f"load average after: {load_average()}")
    if ARGS.db == "mysql":
        connection.close()
        subprocess.run(
            [sys.executable, "scripts/mysql_database.py", "drop", URL], cwd=ROOT, check=True
        )


if __name__ == "__main__":
    main()
