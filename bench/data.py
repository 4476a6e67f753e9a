"""The benchmark's data and its checks, run by bench/run.py in the shop's own environment.

    python -m bench.data load HOST   migrate, load the data, print what the load needs (JSON)
    python -m bench.data check       print the buyer's orders and payment attempts by status,
                                     and the PAID orders' charge ids
    python -m bench.data info        print the database's name and version

Data: the demo catalog plus 50 products; a reader with 500 orders (made directly in the
database: they are there to be listed, not paid); a buyer whose orders the load places,
and only theirs are counted against Stripe's charges.
"""

import io
import json
import os
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.services import sign_up  # noqa: E402
from catalog.currency import amount_in_smallest_unit  # noqa: E402
from catalog.management.commands.seed_products import IMAGES  # noqa: E402
from catalog.models import Product  # noqa: E402
from orders.models import Order, PaymentAttempt  # noqa: E402

EXTRA_PRODUCTS = 50
READER_ORDERS = 500
READER_EMAIL = "reader@bench.example"
BUYER_EMAIL = "buyer@bench.example"
PASSWORD = "bench-passphrase-not-a-secret"
RESULT_PREFIX = "bench-data: "
IMAGES_CYCLE = ["mug.svg", "tshirt.svg", "notebook.svg", "stickers.svg", "cap.svg", "tote.svg"]


def load(host):
    call_command("migrate", verbosity=0)
    # The throttling counts' table, as the deploy makes it (.ebextensions/02-django.config).
    call_command("createcachetable", verbosity=0)
    call_command("seed_products", stdout=io.StringIO())
    Product.objects.bulk_create(
        Product(
            name=f"Bench Product {n:02d}",
            description=f"Product number {n} of the benchmark's catalog, a line or so long.",
            price=Decimal("5.00") + Decimal(n) / 4,
            currency="usd",
            image_url=IMAGES + IMAGES_CYCLE[n % len(IMAGES_CYCLE)],
        )
        for n in range(1, EXTRA_PRODUCTS + 1)
    )
    product = Product.objects.active().first()
    reader = sign_up(first_name="Rea", last_name="Der", email=READER_EMAIL, password=PASSWORD)
    buyer = sign_up(first_name="Bu", last_name="Yer", email=BUYER_EMAIL, password=PASSWORD)
    amount = amount_in_smallest_unit(product.price, 1, product.currency)
    Order.objects.bulk_create(
        Order(
            user=reader,
            product=product,
            quantity=1,
            amount=amount,
            currency=product.currency,
            status=Order.Status.PAID,
        )
        for _ in range(READER_ORDERS)
    )
    # The catalog exactly as the server will answer it (same host, same scheme), so
    # that the floor answers as many bytes.
    catalog = Client().get("/api/product/", HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
    assert catalog.status_code == 200, catalog.status_code
    return {
        "products": Product.objects.active().count(),
        "reader_orders": Order.objects.filter(user=reader).count(),
        "catalog_bytes": len(catalog.content),
        "product_id": product.pk,
        "reader_token": str(AccessToken.for_user(reader)),
        "buyer_token": str(AccessToken.for_user(buyer)),
    }


def check():
    """One snapshot for all the counts on MySQL (orders may still be changing while this
    runs). Not on SQLite, whose transactions here take the write lock (IMMEDIATE) and
    would wait on the shop: bench/run.py reads until two readings a second apart agree."""
    if connection.vendor == "sqlite":
        return _state()
    with transaction.atomic():
        return _state()


def _state():
    orders = Order.objects.filter(user__email=BUYER_EMAIL)
    by_status = dict(orders.values_list("status").annotate(n=Count("id")).order_by())
    paid = orders.filter(status=Order.Status.PAID)
    return {
        "orders": orders.count(),
        "by_status": by_status,
        "paid_charge_ids": list(paid.values_list("stripe_charge_id", flat=True)),
        "paid_order_ids": list(paid.values_list("id", flat=True)),
        # PENDING with an attempt whose answer was lost: settled by reconcile_orders.
        "unknown_order_ids": list(
            orders.filter(
                status=Order.Status.PENDING, attempts__status=PaymentAttempt.Status.UNKNOWN
            )
            .values_list("id", flat=True)
            .distinct()
        ),
        "attempts": PaymentAttempt.objects.filter(order__in=orders).count(),
        "attempts_by_status": dict(
            PaymentAttempt.objects.filter(order__in=orders)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        ),
    }


def info():
    if connection.vendor == "sqlite":
        import sqlite3

        return {"database": f"SQLite {sqlite3.sqlite_version}"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
    name = "MariaDB" if "mariadb" in version.lower() else connection.display_name
    return {"database": f"{name} {version}"}


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "load" and len(sys.argv) == 3:
        result = load(sys.argv[2])
    elif command == "check":
        result = check()
    elif command == "info":
        result = info()
    else:
        raise SystemExit(__doc__)
    # On a line of its own with a prefix: the shop's log lines may share stdout.
    print(RESULT_PREFIX + json.dumps(result))
