import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from rest_framework import generics
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import schema as docs
from catalog import selectors
from catalog.models import Product
from catalog.serializers import ProductSerializer

# The request headers that make a GET conditional (RFC 9110, section 13.1), as Django's
# get_conditional_response reads them: without any, it answers nothing.
CONDITIONAL_HEADERS = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


class NoPreferenceFirst(DefaultContentNegotiation):
    """DRF's content negotiation, answered at once for a client that states no preference.

    With no Accept header (or `*/*`) and no query string (so no ?format=), DRF's own
    negotiation picks the first renderer, with the renderer's media type; this says so
    without parsing the header into media types, a third of the catalog view's own CPU
    when profiled (issue 13). Any other request is negotiated by DRF as before (a 406
    for an Accept no renderer offers, a 404 for an unknown ?format=).
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        meta = request.META
        if (
            renderers
            and not format_suffix
            and not meta.get("QUERY_STRING")
            and meta.get("HTTP_ACCEPT", "*/*") == "*/*"
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


def conditional_response(request: Request, etag: str) -> HttpResponse | None:
    """Django's answer to a conditional GET for `etag` (a 304, or a 412), or None."""
    if not any(name in request.META for name in CONDITIONAL_HEADERS):
        return None  # what get_conditional_response answers, without parsing anything
    return get_conditional_response(request, etag=etag)


@docs.list_products
class ProductList(generics.ListAPIView):
    """The active catalog, with an ETag: If-None-Match with it gets a 304, unserialized.

    The JSON is made once per catalog version and kept (see catalog.selectors); only the
    browsable API (DEBUG) renders it again.
    """

    authentication_classes = []
    content_negotiation_class = NoPreferenceFirst
    serializer_class = ProductSerializer
    queryset = Product.objects.active()

    # A plain HttpResponse (JSON kept per version, or a 304) where DRF's list() has a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        etag = selectors.catalog_etag(request)
        # Clients may keep the list but must ask again each time (with If-None-Match).
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        not_modified = conditional_response(request, etag)
        if not_modified is not None:
            for name, value in headers.items():
                not_modified[name] = value
            return not_modified
        body = selectors.catalog_json(request, etag)
        if request.accepted_renderer.format != "json":
            return Response(json.loads(body), headers=headers)
        return HttpResponse(body, content_type="application/json", headers=headers)


@docs.retrieve_product
class ProductDetail(generics.RetrieveAPIView):
    authentication_classes = []
    content_negotiation_class = NoPreferenceFirst
    serializer_class = ProductSerializer
    queryset = Product.objects.active()
