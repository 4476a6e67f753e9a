"""The shop's URLs plus GET /bench/floor/: constant JSON as large as the catalog.

The floor is a minimal Django + DRF view: it goes through the whole middleware stack
and DRF's request handling, content negotiation and JSON renderer, as the catalog does,
but does no work of its own (no database, no serializer), so every other figure is
reported relative to it. Its size comes from BENCH_FLOOR_BYTES, which bench/run.py sets
to the catalog's size.
"""

import os

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stripedemo.urls import handler400, handler403, handler404, handler500  # noqa: F401

_SIZE = int(os.environ.get("BENCH_FLOOR_BYTES", "1024"))
# DRF's compact JSON of {"floor": "x…"}: 12 bytes around the string.
FLOOR_DATA = {"floor": "x" * max(_SIZE - len('{"floor":""}'), 0)}


class Floor(APIView):
    # As the catalog: anyone may read it, with no login to check.
    authentication_classes = []
    permission_classes = []

    def get(self, request: Request) -> Response:
        return Response(FLOOR_DATA)


urlpatterns = [
    path("bench/floor/", Floor.as_view(), name="bench-floor"),
    path("", include("stripedemo.urls")),
]
