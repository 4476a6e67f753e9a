import json
from typing import Any

from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import schema as docs
from catalog import selectors
from catalog.models import Product
from catalog.serializers import ProductSerializer


@docs.list_products
class ProductList(generics.ListAPIView):
    """The active catalog, with an ETag: If-None-Match with it gets a 304, unserialized.

    The JSON is made once per catalog version and kept (see catalog.selectors); only the
    browsable API (DEBUG) renders it again.
    """

    authentication_classes = []
    serializer_class = ProductSerializer
    queryset = Product.objects.active()

    # A plain HttpResponse (JSON kept per version, or a 304) where DRF's list() has a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        etag = selectors.catalog_etag(request)
        # Clients may keep the list but must ask again each time (with If-None-Match).
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        not_modified = get_conditional_response(request, etag=etag)
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
    serializer_class = ProductSerializer
    queryset = Product.objects.active()
