"""The answers random input rarely reaches, each made on purpose against the live shop and
held to the schema: its status documented, its body and headers of the documented shape.

(The fuzzer in test_fuzz.py covers the rest; a throttled 429 is in tests/accounts.)
"""

import threading
import time

import pytest
import requests
import schemathesis

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/order/"


@pytest.fixture(scope="module")
def described(fuzzed_shop):
    """The schema the shop serves, as Schemathesis reads it."""
    raw = requests.get(f"{fuzzed_shop}/api/schema/?format=json", timeout=10).json()
    return raw, schemathesis.openapi.from_dict(raw)


@pytest.fixture
def documented(described):
    """documented(response, path, status): the answer is `status`, as the schema says."""
    raw, schema = described

    def check(response, path, status):
        method = response.request.method
        assert response.status_code == status, response.text
        assert str(status) in raw["paths"][path][method.lower()]["responses"], (
            f"{method} {path} answered an undocumented {status}"
        )
        schema[path][method].validate_response(response)
        return response.json()

    return check


@pytest.fixture
def buy(shopper, catalog, devstripe):
    def post(key=None, **body):
        headers = {"Idempotency-Key": key} if key else {}
        return shopper.post(ORDERS, json={"product": 1, **body}, headers=headers)

    return post


def test_a_replayed_purchase_and_a_reused_key(buy, documented):
    first = documented(buy(key="purchase-1", token="tok_visa"), ORDERS, 201)
    again = buy(key="purchase-1", token="tok_visa")
    other_body = buy(key="purchase-1", token="tok_visa", quantity=2)

    assert documented(again, ORDERS, 201) == first
    assert again.headers["Idempotent-Replayed"] == "true"
    documented(other_body, ORDERS, 422)


def test_a_key_still_in_progress(buy, devstripe, documented):
    devstripe.configure(latency_ms=1500)
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=buy(key="slow-purchase", token="tok_visa"))
    )
    first.start()
    time.sleep(0.5)

    meanwhile = buy(key="slow-purchase", token="tok_visa")
    first.join()

    body = documented(meanwhile, ORDERS, 409)
    assert body["order_id"] == answers["first"].json()["order"]["id"]
    documented(answers["first"], ORDERS, 201)


def test_stripe_unavailable(buy, devstripe, documented):
    # The SDK tries three times (STRIPE_MAX_NETWORK_RETRIES=2); all three fail.
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500", times=3)

    body = documented(buy(token="tok_visa"), ORDERS, 503)

    assert body["order"]["status"] == "PENDING"


def test_a_refused_token(buy, documented):
    body = documented(buy(token="tok_unknown"), ORDERS, 400)

    assert body["order"]["status"] == "FAILED"


def test_paying_a_failed_order_again(buy, shopper, documented):
    declined = documented(buy(payment_method="pm_card_chargeDeclined"), ORDERS, 402)
    pay = f"{ORDERS}{declined['order']['id']}/pay/"

    declined_again = shopper.post(pay, json={"payment_method": "pm_card_chargeDeclined"})
    paid = shopper.post(pay, json={"payment_method": "pm_card_visa"})
    paid_already = shopper.post(pay, json={"payment_method": "pm_card_visa"})
    invalid = shopper.post(pay, json={})

    path = "/api/order/{id}/pay/"
    documented(declined_again, path, 402)
    assert documented(paid, path, 200)["order"]["status"] == "PAID"
    documented(paid_already, path, 409)
    assert "payment_method" in documented(invalid, path, 400)["fields"]


def test_a_card_asking_for_3d_secure(buy, shopper, documented):
    body = documented(buy(payment_method="pm_card_threeDSecure2Required"), ORDERS, 202)
    confirmed = shopper.post(f"{ORDERS}{body['order']['id']}/confirm/")

    assert body["requires_action"] is True and body["client_secret"]
    assert documented(confirmed, "/api/order/{id}/confirm/", 202)["order"]["status"] == "PENDING"


def test_someone_elses_or_no_order(shopper, documented, catalog, make_user):
    for path in ("/api/order/{id}/", "/api/order/{id}/confirm/"):
        method = "GET" if path == "/api/order/{id}/" else "POST"
        documented(shopper.request(method, path.format(id=999999)), path, 404)


def test_a_broken_token(shopper, documented):
    shopper.headers["Authorization"] = "JWT not-a-token"

    body = documented(shopper.get(ORDERS), ORDERS, 401)

    assert body["success"] is False
