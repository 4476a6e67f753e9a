"""OpenAPI description of the catalog's views (see stripedemo/schema.py)."""

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from catalog.serializers import ProductSerializer
from stripedemo.schema import error

PRODUCT_EXAMPLE = {
    "id": 2,
    "name": "Idempotent T-shirt",
    "description": "Soft cotton tee. Wash it twice: it is still one t-shirt.",
    "price": "19.99",
    "currency": "usd",
    "image_url": "http://127.0.0.1:8000/static/catalog/products/tshirt.svg",
}


def _response_header(name: str, description: str, **kwargs: Any) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.HEADER, response=[200, 304], description=description, **kwargs
    )


# The views are generic classes: describe their one method.
list_products = extend_schema_view(
    get=extend_schema(
        operation_id="product_list",
        tags=["catalog"],
        summary="The products for sale",
        description=(
            "Every active product, by id. `price` is a decimal string in the currency's main "
            'unit (`"19.99"`), never a float; `image_url` is absolute. No login needed. The '
            "list carries an `ETag`: send it back as `If-None-Match` to get an empty 304 while "
            "the catalog is unchanged."
        ),
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                description="The `ETag` of the list you already have.",
            ),
            _response_header("ETag", "The catalog's version, a quoted string."),
            _response_header(
                "Cache-Control", "Keep the list, but revalidate it each time.", enum=["no-cache"]
            ),
        ],
        responses={
            200: ProductSerializer(many=True),
            304: OpenApiResponse(description="Not modified: the list you have is current."),
        },
        examples=[OpenApiExample("The catalog", value=[PRODUCT_EXAMPLE], response_only=True)],
    )
)

retrieve_product = extend_schema_view(
    get=extend_schema(
        operation_id="product_retrieve",
        tags=["catalog"],
        summary="One product",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Product id.")],
        responses={
            200: ProductSerializer,
            404: error("No such product, or it is no longer for sale."),
        },
        examples=[OpenApiExample("A product", value=PRODUCT_EXAMPLE, response_only=True)],
    )
)
