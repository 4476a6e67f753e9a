"""GET /api/order/ and /api/order/<id>/: a shopper sees their own orders only."""

import pytest

from orders import checkout
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_order(product):
    def make(user, quantity=1, status="PAID"):
        order = checkout.place_order(user=user, product=product, quantity=quantity)
        order.status = status
        order.save(update_fields=["status"])
        return order

    return make


def test_a_shopper_lists_their_orders_newest_first(shopper_api, user, make_user, make_order):
    first = make_order(user)
    second = make_order(user, quantity=2, status="FAILED")
    make_order(make_user(email="someone-else@example.com"))

    response = shopper_api.get("/api/order/")

    assert response.status_code == 200
    assert [order["id"] for order in response.json()] == [second.id, first.id]
    newest = response.json()[0]
    assert set(newest) == {
        "id",
        "product",
        "quantity",
        "amount",
        "currency",
        "status",
        "created",
        "failure_message",
        "payment_pending",
        "payment_processing",
        "can_pay",
        "card_brand",
        "card_last4",
        "receipt_url",
    }
    assert newest["amount"] == 3998
    assert newest["status"] == "FAILED"
    assert newest["product"]["price"] == "19.99"
    assert newest["product"]["image_url"].startswith("http://testserver/static/")


def test_one_order_is_read_by_id(shopper_api, user, make_order):
    order = make_order(user)

    response = shopper_api.get(f"/api/order/{order.id}/")

    assert response.status_code == 200
    assert response.json()["id"] == order.id


def test_another_shoppers_order_is_a_404(shopper_api, make_user, make_order):
    theirs = make_order(make_user(email="someone-else@example.com"))

    response = shopper_api.get(f"/api/order/{theirs.id}/")

    assert response.status_code == 404
    assert response.json()["success"] is False


def test_limit_and_offset_paginate(shopper_api, user, make_order):
    orders = [make_order(user) for _ in range(5)]

    response = shopper_api.get("/api/order/?limit=2&offset=1")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [order["id"] for order in body["results"]] == [orders[3].id, orders[2].id]


def test_the_number_of_queries_does_not_grow_with_the_orders(
    shopper_api, user, product, make_order, django_assert_max_num_queries
):
    first = make_order(user)
    with django_assert_max_num_queries(2) as one_order:
        shopper_api.get("/api/order/")

    Order.objects.bulk_create(
        Order(user=user, product=product, quantity=1, amount=first.amount, currency="usd")
        for _ in range(499)
    )
    with django_assert_max_num_queries(len(one_order.captured_queries)):
        assert len(shopper_api.get("/api/order/").json()) == 500
    with django_assert_max_num_queries(len(one_order.captured_queries) + 1):  # + the count
        assert len(shopper_api.get("/api/order/?limit=20").json()["results"]) == 20
