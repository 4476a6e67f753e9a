"""Reading the catalog cheaply: its version (for ETags) and its JSON, kept per version.

Most of the shop's traffic is catalog reads, and serializing every product on every
request would be most of their cost. So the catalog has a version, one aggregate query
over the active products (how many, the newest id, the latest change); the ETag is
derived from it before anything is serialized, a client that sends it back gets a 304,
and the list is serialized and rendered to JSON once per version and kept in memory.

Any save of a product (the admin, `seed_products`) moves `updated` and so changes the
version; adding, deleting or retiring one changes the count. A bulk `QuerySet.update()`
that leaves `updated` alone would not be noticed: set `updated=timezone.now()` in such an
update too.

In production each process also reuses the version it read for a second
(CATALOG_VERSION_SECONDS): under load the catalog then costs no database query at all,
and a change shows in every process within that second.
"""

import functools
import hashlib
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from catalog.models import Product
from catalog.serializers import ProductSerializer

# Part of every ETag: change it (or the serializer's fields) and clients' cached copies
# are no longer valid, even if no product changed.
REPRESENTATION = "catalog-v1:" + ",".join(ProductSerializer.Meta.fields)

# The JSON of each recent version, in this process. A version's JSON never changes, so
# there is nothing to invalidate and nothing to gain from sharing it between processes;
# the shared cache (the database's table or Redis) would cost a round trip per request.
_json_by_etag: dict[str, bytes] = {}
_json_lock = threading.Lock()
_KEEP = 8  # versions × hosts; a few, as products change rarely

# The version this process read last, and until when it may reuse it (catalog_version).
_version_memo: tuple[float, str] | None = None  # (until, version)
_clock = time.monotonic


@functools.cache
def _version_query() -> tuple[str, tuple[Any, ...]]:
    """The version query, compiled by the ORM once: building it costs more than running it."""
    queryset = (
        Product.objects.active()
        .order_by()
        .values("active")  # one group: every row is active
        .annotate(count=Count("id"), newest=Max("id"), changed=Max("updated"))
        .values_list("count", "newest", "changed")
    )
    return queryset.query.sql_with_params()


def _read_version() -> str:
    sql, params = _version_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return ":".join(map(str, row or (0, None, None)))


def catalog_version() -> str:
    """A string that changes whenever the active catalog may have changed.

    With CATALOG_VERSION_SECONDS (1 in production) a process reuses the version it read
    for that long, so that reading the catalog costs no database round trip at all.
    """
    global _version_memo
    seconds = settings.CATALOG_VERSION_SECONDS
    if seconds <= 0:
        return _read_version()
    memo, now = _version_memo, _clock()
    if memo is not None and now < memo[0]:
        return memo[1]
    version = _read_version()
    _version_memo = (now + seconds, version)  # one assignment: safe across threads
    return version


def catalog_etag(request: Request) -> str:
    """The catalog's strong ETag (quoted) for this request.

    Image URLs are absolute on the host the request came to, so the host and scheme are
    part of the representation, and of the ETag.
    """
    seed = f"{REPRESENTATION}|{request.build_absolute_uri('/')}|{catalog_version()}"
    return '"' + hashlib.blake2b(seed.encode(), digest_size=16).hexdigest() + '"'


def catalog_json(request: Request, etag: str) -> bytes:
    """The active catalog for `etag` as JSON bytes, exactly as DRF's JSONRenderer makes it.

    Serialized on the first request for a version; two threads may both do it, harmlessly.
    """
    body = _json_by_etag.get(etag)
    if body is None:
        products = Product.objects.active()
        data = ProductSerializer(products, many=True, context={"request": request}).data
        body = JSONRenderer().render(data)
        with _json_lock:
            while len(_json_by_etag) >= _KEEP:
                del _json_by_etag[next(iter(_json_by_etag))]  # the oldest
            _json_by_etag[etag] = body
    return body


def forget() -> None:
    """Drop the kept version and JSON (for tests)."""
    global _version_memo
    _version_memo = None
    with _json_lock:
        _json_by_etag.clear()
