"""GET /api/product/ with If-None-Match: an unchanged catalog is a 304, never re-serialized."""

import pytest
from django.utils import timezone

from catalog import selectors

pytestmark = pytest.mark.django_db


def test_the_catalog_carries_an_etag_to_revalidate_with(api, product):
    response = api.get("/api/product/")

    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Cache-Control"] == "no-cache"
    assert api.get("/api/product/")["ETag"] == response["ETag"]


def test_an_unchanged_catalog_is_a_304_without_reading_or_serializing_products(
    api, product, django_assert_num_queries
):
    etag = api.get("/api/product/")["ETag"]
    selectors.forget()  # nothing serialized to fall back on: a 200 would read products

    with django_assert_num_queries(1) as queries:  # the catalog's version, nothing else
        response = api.get("/api/product/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "catalog_product" in queries.captured_queries[0]["sql"]
    assert "COUNT(" in queries.captured_queries[0]["sql"].upper()


def test_a_repeated_read_serves_the_catalog_serialized_once(
    api, product, make_product, django_assert_num_queries
):
    make_product(name="Sticker Pack", price="4.99")
    first = api.get("/api/product/")

    with django_assert_num_queries(1):
        again = api.get("/api/product/")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert [item["name"] for item in again.json()] == ["Idempotent T-shirt", "Sticker Pack"]


def test_a_changed_product_changes_the_etag_and_the_list(api, product):
    old = api.get("/api/product/")["ETag"]

    product.price = "21.00"
    product.save()
    response = api.get("/api/product/", HTTP_IF_NONE_MATCH=old)

    assert response.status_code == 200
    assert response["ETag"] != old
    assert response.json()[0]["price"] == "21.00"


def test_adding_retiring_or_deleting_a_product_changes_the_etag(api, product, make_product):
    etags = [api.get("/api/product/")["ETag"]]

    added = make_product(name="Team Cap", price="17.00")
    etags.append(api.get("/api/product/")["ETag"])
    # Even an update that leaves `updated` alone: the active count changes.
    type(product).objects.filter(pk=product.pk).update(active=False)
    etags.append(api.get("/api/product/")["ETag"])
    added.delete()
    etags.append(api.get("/api/product/")["ETag"])

    assert len(set(etags)) == 4
    assert api.get("/api/product/").json() == []


def test_an_etag_from_another_host_is_not_reused(api, product):
    """Image URLs are absolute on the request's host: another host is another representation."""
    here = api.get("/api/product/")
    there = api.get("/api/product/", HTTP_HOST="localhost", HTTP_IF_NONE_MATCH=here["ETag"])

    assert there.status_code == 200
    assert there["ETag"] != here["ETag"]
    assert there.json()[0]["image_url"].startswith("http://localhost/")


def test_in_production_a_process_reuses_the_version_for_a_second(
    api, product, settings, monkeypatch, django_assert_num_queries
):
    """CATALOG_VERSION_SECONDS: no query per read; a change shows once the second is over."""
    settings.CATALOG_VERSION_SECONDS = 1
    now = [1000.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    monkeypatch.setattr(selectors, "_version_memo", None)  # and back to None afterwards
    first = api.get("/api/product/")

    type(product).objects.filter(pk=product.pk).update(price="21.00", updated=timezone.now())
    now[0] += 0.5
    with django_assert_num_queries(0):
        within = api.get("/api/product/", HTTP_IF_NONE_MATCH=first["ETag"])
    now[0] += 0.6
    after = api.get("/api/product/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert within.status_code == 304
    assert after.status_code == 200
    assert after.json()[0]["price"] == "21.00"
