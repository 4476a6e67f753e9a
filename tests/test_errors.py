"""Every error is JSON: unknown URLs, malformed bodies, oversized bodies."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_an_unknown_api_url_is_a_json_404(api, settings, debug):
    settings.DEBUG = debug

    response = api.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False


def test_an_oversized_body_is_refused_with_json_413(shopper_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = shopper_api.post("/api/order/", {"product": 1, "token": "x" * 5000}, format="json")

    assert response.status_code == 413
    assert response.json()["error"] == "The request body is too large."


def test_a_wrong_method_is_a_json_405(api):
    response = api.delete("/api/product/")

    assert response.status_code == 405
    assert response.json()["success"] is False


def test_a_wrong_method_on_a_plain_django_view_is_a_json_405_naming_the_allowed_ones(api):
    response = api.get("/api/stripe/webhook/")

    assert response.status_code == 405
    assert response.json()["success"] is False
    assert response["Allow"] == "POST"
