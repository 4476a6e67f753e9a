"""A product whose price cannot be charged is refused with a sentence, never a 500.

The catalog refuses such prices (catalog.prices, and the database's CHECK constraints),
but a row can still get past them: written by hand, or kept from before Stripe's rules
for its currency changed. Ordering it must answer the shop's JSON error, place nothing
and ask Stripe nothing.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Product
from orders.models import Order
from tests.orders.attempt_helpers import declined_order_of, pay, place

pytestmark = pytest.mark.django_db

NOT_FOR_SALE = "This product cannot be sold at its current price."


@contextmanager
def database_checks_off():
    """Let rows break the catalog's CHECK constraints, as rows older than them may."""
    if connection.vendor == "sqlite":
        switch = "PRAGMA ignore_check_constraints = {}"
    elif connection.vendor == "mysql" and connection.mysql_is_mariadb:
        switch = "SET SESSION check_constraint_checks = {}"
    else:
        pytest.skip("no way to write a row past this database's CHECK constraints")
    with connection.cursor() as cursor:
        cursor.execute(switch.format(0 if connection.vendor == "mysql" else 1))
        try:
            yield
        finally:
            cursor.execute(switch.format(1 if connection.vendor == "mysql" else 0))


@pytest.fixture
def half_a_yen():
    """Half a yen: Stripe charges yen in whole units only."""
    with database_checks_off():
        return Product.objects.create(name="Half a yen", price=Decimal("0.5"), currency="jpy")


@pytest.mark.parametrize("payment", [{"token": "tok_visa"}, {"payment_method": "pm_card_visa"}])
@pytest.mark.parametrize("key", [None, "purchase-1"])
def test_ordering_a_product_stripe_cannot_charge_is_a_400_with_a_sentence(
    shopper_api, half_a_yen, devstripe, payment, key
):
    response = place(shopper_api, half_a_yen, key=key, **payment)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"] == body["detail"] == NOT_FOR_SALE
    assert body["fields"] == {"product": [NOT_FOR_SALE]}
    assert not Order.objects.exists()
    assert devstripe.requests() == []


def test_once_its_price_is_corrected_the_same_key_places_the_order(
    shopper_api, half_a_yen, devstripe
):
    assert place(shopper_api, half_a_yen, key="purchase-1", token="tok_visa").status_code == 400
    Product.objects.filter(pk=half_a_yen.pk).update(price=Decimal("500"))

    response = place(shopper_api, half_a_yen, key="purchase-1", token="tok_visa")

    assert response.status_code == 201, response.json()
    assert response.json()["order"]["amount"] == 500


def test_paying_a_failed_order_again_once_stripe_cannot_charge_its_price_is_a_409(
    shopper_api, make_product, devstripe
):
    yen = make_product(name="Yen mug", price="500", currency="jpy")
    order = declined_order_of(shopper_api, yen)
    with database_checks_off():
        Product.objects.filter(pk=yen.pk).update(price=Decimal("0.5"))

    response = pay(shopper_api, order.id, key="pay-1")

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == body["detail"]
    assert "no longer for sale at the price" in body["error"]
    assert body["order"]["can_pay"] is False
    order.refresh_from_db()
    assert order.status == "FAILED"
    assert order.attempts.count() == 1
