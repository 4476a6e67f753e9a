"""GET /api/product/: anyone may read the active catalog, with exact decimal prices."""

import pytest
from django.core.management import call_command

from catalog.management.commands.seed_products import DEMO_CATALOG
from catalog.models import Product

pytestmark = pytest.mark.django_db


def test_anyone_lists_the_active_products(api, product, make_product):
    make_product(name="Retired", active=False)

    response = api.get("/api/product/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": product.id,
            "name": "Idempotent T-shirt",
            "description": "",
            "price": "19.99",
            "currency": "usd",
            "image_url": "http://testserver/static/catalog/products/tshirt.svg",
        }
    ]


def test_a_product_is_read_by_id(api, product):
    response = api.get(f"/api/product/{product.id}/")

    assert response.status_code == 200
    assert response.json()["price"] == "19.99"


def test_an_inactive_or_unknown_product_is_a_json_404(api, make_product):
    retired = make_product(active=False)

    for product_id in (retired.id, 999999):
        response = api.get(f"/api/product/{product_id}/")
        assert response.status_code == 404
        assert response.json()["success"] is False


def test_a_token_is_not_needed_even_if_a_bad_one_is_sent(api, product):
    api.credentials(HTTP_AUTHORIZATION="JWT not-a-token")

    assert api.get("/api/product/").status_code == 200


def test_seed_products_loads_the_demo_catalog_once(api):
    call_command("seed_products")
    call_command("seed_products")

    assert Product.objects.count() == len(DEMO_CATALOG)
    names = [item["name"] for item in api.get("/api/product/").json()]
    assert names == [name for name, *_ in DEMO_CATALOG]


def test_demo_images_ship_with_the_shop(api, settings):
    call_command("seed_products")

    for product in Product.objects.all():
        path = settings.BASE_DIR / "catalog" / product.image_url.removeprefix("/")
        assert path.is_file(), product.image_url
