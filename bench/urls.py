"""The shop's URLs plus GET /bench/floor/: constant JSON as large as the catalog.

The floor goes through the whole middleware stack but does no work of its own (no
database, no serializer, no DRF), so every other figure is reported relative to it. Its
size comes from BENCH_FLOOR_BYTES, which bench/run.py sets to the catalog's size.
"""

import os

from django.http import HttpResponse
from django.urls import include, path

from stripedemo.urls import handler400, handler403, handler404, handler500  # noqa: F401

_SIZE = int(os.environ.get("BENCH_FLOOR_BYTES", "1024"))
_ENVELOPE = b'{"floor":""}'
FLOOR_BODY = _ENVELOPE[:-2] + b"x" * max(_SIZE - len(_ENVELOPE), 0) + _ENVELOPE[-2:]


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="application/json")


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("stripedemo.urls")),
]
