"""POST /api/order/ with a Stripe token: the original README's order journey.

Every test charges through the official SDK over HTTP against devstripe and then reads
what devstripe received, so the exact Stripe request is checked, not assumed.
"""

import pytest

from orders.models import Order, PaymentAttempt

pytestmark = pytest.mark.django_db

ORDERS = "/api/order/"


def charges_sent(devstripe):
    return devstripe.requests(path="/v1/charges", method="POST")


def test_tok_visa_pays_the_order_and_stores_the_charge(shopper_api, product, devstripe):
    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["order"]["status"] == "PAID"
    assert body["order"]["amount"] == 1999
    assert body["order"]["quantity"] == 1
    assert body["order"]["product"]["id"] == product.id
    assert body["order"]["product"]["image_url"] == (
        "http://testserver/static/catalog/products/tshirt.svg"
    )
    order = Order.objects.get(pk=body["order"]["id"])
    assert order.stripe_charge_id.startswith("ch_")
    assert order.failure_message == ""


def test_the_charge_request_is_exact(shopper_api, product, devstripe):
    response = shopper_api.post(
        ORDERS, {"product": product.id, "token": "tok_visa", "quantity": 3}, format="json"
    )

    order = Order.objects.get(pk=response.json()["order"]["id"])
    attempt = order.attempts.get()
    [request] = charges_sent(devstripe)
    assert request["params"]["amount"] == "5997"  # 19.99 × 3, exactly
    assert request["params"]["currency"] == "usd"
    assert request["params"]["source"] == "tok_visa"
    assert request["params"]["metadata"] == {
        "order_id": str(order.id),
        "idempotency_key": attempt.idempotency_key,
    }
    assert request["params"]["description"]
    assert request["idempotency_key"] == attempt.idempotency_key
    assert attempt.idempotency_key.startswith(f"order-{order.id}-charge-1-")
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert attempt.stripe_id == order.stripe_charge_id
    assert order.amount == 5997


def test_a_declined_card_fails_the_order_with_stripes_message(shopper_api, product, devstripe):
    response = shopper_api.post(
        ORDERS, {"product": product.id, "token": "tok_chargeDeclined"}, format="json"
    )

    assert response.status_code == 402
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "Your card was declined."
    assert body["order"]["status"] == "FAILED"
    assert body["order"]["failure_message"] == "Your card was declined."
    order = Order.objects.get(pk=body["order"]["id"])
    assert order.failure_code == "card_declined"
    assert order.attempts.get().status == PaymentAttempt.Status.FAILED


def test_insufficient_funds_is_a_decline_too(shopper_api, product, devstripe):
    response = shopper_api.post(
        ORDERS,
        {"product": product.id, "token": "tok_chargeDeclinedInsufficientFunds"},
        format="json",
    )

    assert response.status_code == 402
    assert response.json()["error"] == "Your card has insufficient funds."


def test_an_unknown_token_is_refused_by_stripe_with_400(shopper_api, product, devstripe):
    response = shopper_api.post(
        ORDERS, {"product": product.id, "token": "tok_doesnotexist"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["order"]["status"] == "FAILED"
    assert "No such token" in response.json()["error"]


def test_stripe_being_down_leaves_the_order_pending_not_lost(
    shopper_api, product, devstripe, caplog
):
    # Three 500s: the first try and the SDK's two retries all fail.
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=3)

    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["order"]["status"] == "PENDING"
    order = Order.objects.get(pk=body["order"]["id"])
    # Unknown, not failed: confirm/ and reconcile_orders settle it from Stripe.
    assert order.attempts.get().status == PaymentAttempt.Status.UNKNOWN
    assert body["order"]["payment_pending"] is True
    keys = {request["idempotency_key"] for request in charges_sent(devstripe)}
    assert keys == {order.attempts.get().idempotency_key}
    logged = [(record.getMessage(), getattr(record, "order_id", None)) for record in caplog.records]
    assert ("payment outcome unknown: left to settle", order.id) in logged


def test_the_sdk_retries_a_500_with_the_same_key_and_pays_once(shopper_api, product, devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=1)

    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 201
    sent = charges_sent(devstripe)
    assert len(sent) == 2
    assert len({request["idempotency_key"] for request in sent}) == 1


def test_a_wrong_stripe_key_is_a_500_and_no_charge(shopper_api, product, devstripe, settings):
    settings.STRIPE_SECRET_KEY = "not-a-stripe-key"

    response = shopper_api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 500
    assert response.json()["order"]["status"] == "FAILED"
    assert "not-a-stripe-key" not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "tok_visa"}, "product"),
        ({"product": 999999, "token": "tok_visa"}, "product"),
        ({"product": "one", "token": "tok_visa"}, "product"),
        ({"product": "PRODUCT", "token": ""}, "token"),
        ({"product": "PRODUCT"}, "token"),
        ({"product": "PRODUCT", "token": "tok_visa", "quantity": 0}, "quantity"),
        ({"product": "PRODUCT", "token": "tok_visa", "quantity": 11}, "quantity"),
        ({"product": "PRODUCT", "token": "tok_visa", "quantity": "two"}, "quantity"),
        ({"product": "PRODUCT", "token": ["tok_visa"]}, "token"),
    ],
    ids=[
        "no-product",
        "unknown-product",
        "product-not-an-id",
        "blank-token",
        "no-token",
        "quantity-0",
        "quantity-11",
        "quantity-not-a-number",
        "token-not-a-string",
    ],
)
def test_invalid_input_is_a_400_with_no_order_and_no_stripe_call(
    shopper_api, product, devstripe, body, field
):
    body = {key: product.id if value == "PRODUCT" else value for key, value in body.items()}

    response = shopper_api.post(ORDERS, body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert field in response.json()["fields"]
    assert response.json()["error"]
    assert not Order.objects.exists()
    assert charges_sent(devstripe) == []


def test_an_inactive_product_cannot_be_ordered(shopper_api, make_product, devstripe):
    retired = make_product(active=False)

    response = shopper_api.post(ORDERS, {"product": retired.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 400
    assert "not for sale" in response.json()["error"]
    assert not Order.objects.exists()


def test_malformed_json_is_a_400_with_no_order(shopper_api, devstripe):
    response = shopper_api.post(ORDERS, '{"product": 1,', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert not Order.objects.exists()


def test_ordering_needs_a_login(api, product, devstripe):
    response = api.post(ORDERS, {"product": product.id, "token": "tok_visa"}, format="json")

    assert response.status_code == 401
    assert not Order.objects.exists()
    assert charges_sent(devstripe) == []
