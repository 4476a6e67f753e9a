"""The Idempotency-Key header on POST /api/order/: a retried purchase is one purchase."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import IdempotencyRecord, Order
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

ORDERS = "/api/order/"


@pytest.fixture
def buy(shopper_api, product, devstripe):
    def post(key, token="tok_visa", quantity=1, client=shopper_api):
        headers = {"Idempotency-Key": key} if key is not None else {}
        return client.post(
            ORDERS,
            {"product": product.id, "token": token, "quantity": quantity},
            format="json",
            headers=headers,
        )

    return post


def charges_at_stripe(devstripe):
    return [r for r in devstripe.requests(path="/v1/charges", method="POST") if not r["replayed"]]


def test_the_same_key_and_body_replays_the_first_answer(buy, devstripe):
    first = buy("purchase-1")
    second = buy("purchase-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1


def test_a_declined_purchase_is_replayed_too_not_charged_again(buy, devstripe):
    first = buy("purchase-1", token="tok_chargeDeclined")
    second = buy("purchase-1", token="tok_chargeDeclined")

    assert first.status_code == second.status_code == 402
    assert second.json()["order"]["id"] == first.json()["order"]["id"]
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1


def test_the_same_key_with_another_body_is_a_422(buy, devstripe):
    buy("purchase-1", quantity=1)

    response = buy("purchase-1", quantity=2)

    assert response.status_code == 422
    assert "different request" in response.json()["error"]
    assert Order.objects.count() == 1


def test_a_key_still_in_progress_is_a_409_not_a_second_charge(buy, user, devstripe):
    first = buy("purchase-1")
    # As if the first request were still running: no answer saved yet.
    IdempotencyRecord.objects.filter(key="purchase-1").update(response_status=None)

    response = buy("purchase-1")

    assert response.status_code == 409
    assert "still being processed" in response.json()["error"]
    assert response.json()["order_id"] == first.json()["order"]["id"]
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1


def test_keys_belong_to_their_user(buy, make_user, devstripe):
    buy("purchase-1")
    other = make_user(email="other@example.com")
    from rest_framework.test import APIClient

    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other)}")

    response = buy("purchase-1", client=other_client)

    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_without_a_key_every_request_is_a_new_order(buy, devstripe):
    buy(None)
    buy(None)

    assert Order.objects.count() == 2


def test_a_key_older_than_24_hours_still_replays_its_order_never_a_second_one(buy, devstripe):
    first = buy("purchase-1")
    IdempotencyRecord.objects.update(created=timezone.now() - timedelta(hours=25))

    response = buy("purchase-1")

    assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "true"
    assert response.json()["order"]["id"] == first.json()["order"]["id"]
    assert Order.objects.count() == 1
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1


def test_invalid_input_does_not_use_up_the_key(shopper_api, buy, devstripe):
    invalid = shopper_api.post(
        ORDERS, {"product": 999999, "token": "tok_visa"}, format="json",
        headers={"Idempotency-Key": "purchase-1"},
    )  # fmt: skip
    assert invalid.status_code == 400

    assert buy("purchase-1").status_code == 201


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_must_be_1_to_255_characters(buy, key, devstripe):
    response = buy(key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]
    assert not Order.objects.exists()


def test_a_255_character_key_is_fine(buy, devstripe):
    assert buy("k" * 255).status_code == 201
