"""Currencies as Stripe counts them (catalog/currency.py), and config.json handing the page
the same table and the order limit. Fast: no devstripe, no browser.

Stripe's lists, from https://docs.stripe.com/currencies: zero-decimal currencies, the
three-decimal ones (whose amounts must end in 0), and the special cases ISK and UGX (two
decimals in the API, whole units only) and HUF and TWD (two decimals for charges).
"""

import json
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog.currency import (
    EXPONENTS,
    STRIPE_MAX_AMOUNT,
    amount_in_smallest_unit,
    exponent,
    max_price,
)
from orders.models import Order

STRIPE_ZERO_DECIMAL = "bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split()
STRIPE_THREE_DECIMAL = "bhd jod kwd omr tnd".split()
# (currency, its exponent at Stripe, the decimals Stripe takes in a price)
KINDS = (
    [("usd", 2, 2), ("eur", 2, 2), ("huf", 2, 2), ("twd", 2, 2)]
    + [("isk", 2, 0), ("ugx", 2, 0)]
    + [(code, 0, 0) for code in STRIPE_ZERO_DECIMAL]
    + [(code, 3, 2) for code in STRIPE_THREE_DECIMAL]
)


def test_the_exponent_of_a_currency_is_stripes():
    assert exponent("usd") == 2
    assert exponent("jpy") == 0
    assert exponent("kwd") == 3
    assert (exponent("USD"), exponent("JPY"), exponent("KWD")) == (2, 0, 3)
    # Special cases: two decimals in Stripe's API, though ISK and UGX charge whole units.
    assert [exponent(code) for code in ("isk", "ugx", "huf", "twd")] == [2, 2, 2, 2]


def test_the_table_lists_every_currency_without_two_decimals_and_only_those():
    assert EXPONENTS == {
        **dict.fromkeys(STRIPE_ZERO_DECIMAL, 0),
        **dict.fromkeys(STRIPE_THREE_DECIMAL, 3),
    }


@pytest.mark.parametrize(
    ("price", "quantity", "currency", "amount"),
    [
        ("19.99", 3, "usd", 5997),
        ("0.57", 1, "USD", 57),
        ("500", 2, "jpy", 1000),
        ("500.00", 1, "JPY", 500),
        ("5.12", 1, "kwd", 5120),
        ("5.120", 3, "KWD", 15360),
        ("1.5", 2, "bhd", 3000),
        ("5", 1, "isk", 500),
        ("1200.00", 2, "ugx", 240000),
        ("10.45", 1, "huf", 1045),
    ],
)
def test_a_price_becomes_the_amount_stripe_is_asked_for(price, quantity, currency, amount):
    result = amount_in_smallest_unit(Decimal(price), quantity, currency)

    assert type(result) is int
    assert result == amount


@pytest.mark.parametrize(
    ("price", "currency"),
    [
        ("0.5", "jpy"),  # no fraction of a yen
        ("19.999", "usd"),  # no fraction of a cent
        ("5.125", "kwd"),  # thousandths exist, but Stripe wants the last digit 0
        ("5.5", "isk"),  # whole krónur only
        ("100.01", "UGX"),
    ],
)
def test_a_price_stripe_cannot_charge_is_refused_not_rounded(price, currency):
    with pytest.raises(ValueError, match="more decimals than the currency allows"):
        amount_in_smallest_unit(Decimal(price), 1, currency)


def test_a_price_is_refused_even_when_the_quantity_would_round_it():
    # 0.5 JPY × 2 is a whole yen, but the price itself is not chargeable.
    with pytest.raises(ValueError, match="more decimals than the currency allows"):
        amount_in_smallest_unit(Decimal("0.5"), 2, "jpy")


@st.composite
def chargeable_prices(draw):
    """(currency kind, price with the decimals Stripe takes, quantity, price in steps)
    whose amount is within Stripe's maximum charge."""
    kind = draw(st.sampled_from(KINDS))
    quantity = draw(st.integers(min_value=1, max_value=django_settings.ORDER_MAX_QUANTITY))
    currency, currency_exponent, allowed = kind
    step = 10 ** (currency_exponent - allowed)  # smallest units per step of the price
    minor = draw(st.integers(min_value=1, max_value=STRIPE_MAX_AMOUNT // step // quantity))
    return kind, Decimal(minor).scaleb(-allowed), quantity, minor


@settings(max_examples=500, derandomize=True, database=None)
@given(case=chargeable_prices())
@example(case=(("kwd", 3, 2), Decimal("5.12"), 1, 512))
@example(case=(("usd", 2, 2), Decimal("0.57"), 1, 57))  # 0.57 * 100 is 56.99999999999999
@example(case=(("usd", 2, 2), Decimal("999999.99"), 1, 99_999_999))  # Stripe's maximum
@example(case=(("jpy", 0, 0), Decimal("9999999"), 10, 9_999_999))
def test_the_amount_is_price_times_ten_to_the_exponent_times_quantity(case):
    (currency, currency_exponent, allowed), price, quantity, minor = case

    amount = amount_in_smallest_unit(price, quantity, currency)

    assert amount == price * 10**currency_exponent * quantity
    assert amount == minor * 10 ** (currency_exponent - allowed) * quantity
    assert amount <= STRIPE_MAX_AMOUNT == 99_999_999
    if currency_exponent == 3:
        assert amount % 10 == 0  # Stripe's rule for three-decimal amounts


@pytest.mark.parametrize(
    ("price", "quantity", "currency", "amount"),
    [
        ("1000000.00", 1, "usd", 100_000_000),  # one cent over eight digits
        ("100000.00", 10, "usd", 100_000_000),
        ("9999999.99", 10, "usd", 9_999_999_990),  # over orders_order.amount on MariaDB too
        ("100000000", 1, "jpy", 100_000_000),
        ("10000000", 10, "JPY", 100_000_000),
        ("10000.00", 10, "kwd", 100_000_000),
        ("100000", 10, "isk", 100_000_000),
    ],
)
def test_an_amount_over_stripes_maximum_charge_is_refused(price, quantity, currency, amount):
    with pytest.raises(ValueError, match="over Stripe's maximum charge of 99999999") as refusal:
        amount_in_smallest_unit(Decimal(price), quantity, currency)

    assert f"is {amount} in the smallest unit" in str(refusal.value)


@pytest.mark.parametrize("price", ["0", "0.00", "-1.00", "-500"])
def test_a_price_of_zero_or_less_is_refused(price):
    with pytest.raises(ValueError, match="is not a price: it must be more than 0"):
        amount_in_smallest_unit(Decimal(price), 1, "usd")


@pytest.mark.parametrize(
    ("currency", "quantity", "highest"),
    [
        ("usd", 10, "99999.99"),
        ("usd", 1, "999999.99"),
        ("huf", 10, "99999.99"),
        ("jpy", 10, "9999999"),
        ("jpy", 3, "33333333"),
        ("isk", 10, "99999"),
        ("ugx", 1, "999999"),
        ("kwd", 10, "9999.99"),
        ("bhd", 7, "14285.71"),
    ],
)
def test_the_highest_price_is_the_last_step_within_the_maximum(currency, quantity, highest):
    assert max_price(currency, quantity) == Decimal(highest)
    assert str(max_price(currency, quantity)) == highest  # the decimals Stripe takes
    amount_in_smallest_unit(Decimal(highest), quantity, currency)  # accepted


@settings(max_examples=200, derandomize=True, database=None)
@given(
    kind=st.sampled_from(KINDS),
    quantity=st.integers(min_value=1, max_value=django_settings.ORDER_MAX_QUANTITY),
)
def test_one_step_above_the_highest_price_is_refused(kind, quantity):
    currency, _, allowed = kind
    highest = max_price(currency, quantity)

    assert amount_in_smallest_unit(highest, quantity, currency) <= STRIPE_MAX_AMOUNT
    with pytest.raises(ValueError, match="over Stripe's maximum charge"):
        amount_in_smallest_unit(highest + Decimal(1).scaleb(-allowed), quantity, currency)


def shop_config(client):
    response = client.get("/config.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_config_json_carries_the_order_limit_and_the_currency_exponents(client):
    config = shop_config(client)

    assert config["maxQuantity"] == django_settings.ORDER_MAX_QUANTITY == 10
    assert config["currencyExponents"] == EXPONENTS
    assert config["currencyExponents"]["jpy"] == 0
    assert config["currencyExponents"]["kwd"] == 3
    assert "usd" not in config["currencyExponents"]  # two decimals: not listed


def test_config_json_takes_the_order_limit_from_settings(client, settings):
    settings.ORDER_MAX_QUANTITY = 3

    assert shop_config(client)["maxQuantity"] == 3


def test_the_database_limits_the_quantity_with_the_setting():
    [constraint] = [c for c in Order._meta.constraints if c.name.startswith("order_quantity")]

    assert ("quantity__lte", django_settings.ORDER_MAX_QUANTITY) in constraint.condition.children
