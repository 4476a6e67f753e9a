"""The catalog answers what DRF's content negotiation would, though it skips parsing a
request that states no preference (catalog.views.NoPreferenceFirst), and treats
conditional headers as Django does (catalog.views.conditional_response)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_a_client_stating_no_preference_gets_json(api, product, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = api.get("/api/product/", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [item["name"] for item in response.json()] == [product.name]


def test_json_asked_for_by_name_is_json(api, product):
    response = api.get("/api/product/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_a_media_type_no_renderer_offers_is_refused_with_406(api, product):
    response = api.get("/api/product/", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response.json()["success"] is False


def test_an_unknown_format_parameter_is_a_404(api, product):
    response = api.get("/api/product/?format=xml")

    assert response.status_code == 404


def test_a_product_stating_no_preference_gets_json(api, product):
    response = api.get(f"/api/product/{product.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["name"] == product.name


def test_if_match_with_another_etag_is_a_412(api, product):
    response = api.get("/api/product/", HTTP_IF_MATCH='"not-the-catalog"')

    assert response.status_code == 412


def test_if_match_with_the_catalogs_etag_is_served(api, product):
    etag = api.get("/api/product/")["ETag"]

    response = api.get("/api/product/", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] == etag
