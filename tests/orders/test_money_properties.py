"""Money is exact: for any price and quantity, the shop charges price × quantity in cents.

Properties checked with Hypothesis over every price with two decimals from 0.01 to
99999.99 and every allowed quantity, against integer arithmetic on the cents (never
floats): first the arithmetic itself, then end to end through the API and devstripe.
The examples are derandomized (a fixed seed) so CI runs the same cases every time.
"""

from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog.currency import amount_in_smallest_unit
from orders.models import Order

pytestmark = pytest.mark.django_db

MAX_PRICE_CENTS = 99_999_99  # 99999.99
# Stripe's (and devstripe's) smallest charge in USD: 0.50.
STRIPE_MINIMUM_USD_CENTS = 50

price_cents = st.integers(min_value=1, max_value=MAX_PRICE_CENTS)
quantities = st.integers(min_value=1, max_value=django_settings.ORDER_MAX_QUANTITY)


def price_text(cents):
    """The price as the catalog holds it: a decimal string with two places, e.g. "0.57"."""
    return f"{cents // 100}.{cents % 100:02d}"


@settings(max_examples=2000, derandomize=True, database=None)
@given(cents=price_cents, quantity=quantities)
# Prices whose float × 100 is not a whole number (0.57 * 100 == 56.99999999999999).
@example(cents=57, quantity=1)
@example(cents=115, quantity=3)
@example(cents=1999, quantity=3)
@example(cents=1, quantity=1)
@example(cents=MAX_PRICE_CENTS, quantity=10)
def test_the_amount_is_price_times_quantity_in_cents_exactly(cents, quantity):
    amount = amount_in_smallest_unit(Decimal(price_text(cents)), quantity, "usd")

    assert type(amount) is int
    assert amount == cents * quantity


@settings(max_examples=300, derandomize=True, database=None)
@given(units=st.integers(min_value=1, max_value=9_999_999), quantity=quantities)
def test_a_zero_decimal_currency_is_charged_in_whole_units(units, quantity):
    assert amount_in_smallest_unit(Decimal(units), quantity, "JPY") == units * quantity


@settings(max_examples=100, derandomize=True, database=None)
@given(units=st.integers(min_value=0, max_value=99_999), hundredths=st.integers(1, 99))
def test_a_fraction_a_currency_cannot_charge_is_refused_not_rounded(units, hundredths):
    with pytest.raises(ValueError, match="more decimals than the currency allows"):
        amount_in_smallest_unit(Decimal(f"{units}.{hundredths:02d}"), 1, "jpy")


# End to end: each example places an order through the API and pays it at devstripe,
# so there are few of them. The function-scoped fixtures are shared by the examples:
# each example resets devstripe and reads back only its own order.
@settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cents=price_cents, quantity=quantities)
@example(cents=57, quantity=1)
@example(cents=MAX_PRICE_CENTS, quantity=10)
def test_the_order_stores_exactly_the_amount_stripe_was_asked_for(
    shopper_api, make_product, devstripe, cents, quantity
):
    devstripe.reset()
    product = make_product(price=price_text(cents))

    response = shopper_api.post(
        "/api/order/",
        {"product": product.id, "quantity": quantity, "token": "tok_visa"},
        format="json",
    )

    body = response.json()
    order = Order.objects.get(pk=body["order"]["id"])
    [charge_request] = devstripe.requests(path="/v1/charges", method="POST")
    assert order.amount == cents * quantity
    assert body["order"]["amount"] == order.amount
    assert int(charge_request["params"]["amount"]) == order.amount
    assert charge_request["params"]["currency"] == order.currency == "usd"
    if order.amount >= STRIPE_MINIMUM_USD_CENTS:
        assert response.status_code == 201, body
        assert order.status == "PAID"
    else:  # below Stripe's minimum charge: Stripe refuses, the order fails
        assert response.status_code == 400, body
        assert body["error"].startswith("Amount must be at least")
        assert order.status == "FAILED"
