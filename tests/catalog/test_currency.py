"""Currencies as Stripe counts them (catalog/currency.py), and config.js handing the page
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

from catalog.currency import EXPONENTS, amount_in_smallest_unit, exponent
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


@settings(max_examples=500, derandomize=True, database=None)
@given(
    kind=st.sampled_from(KINDS),
    minor=st.integers(min_value=1, max_value=99_999_999),
    quantity=st.integers(min_value=1, max_value=django_settings.ORDER_MAX_QUANTITY),
)
@example(kind=("kwd", 3, 2), minor=512, quantity=1)
@example(kind=("usd", 2, 2), minor=57, quantity=1)  # 0.57 * 100 is 56.99999999999999 in float
def test_the_amount_is_price_times_ten_to_the_exponent_times_quantity(kind, minor, quantity):
    currency, currency_exponent, allowed = kind
    price = Decimal(minor).scaleb(-allowed)  # a price with the decimals Stripe takes

    amount = amount_in_smallest_unit(price, quantity, currency)

    assert amount == price * 10**currency_exponent * quantity
    assert amount == minor * 10 ** (currency_exponent - allowed) * quantity
    if currency_exponent == 3:
        assert amount % 10 == 0  # Stripe's rule for three-decimal amounts


def shop_config(client):
    response = client.get("/config.js")
    assert response.status_code == 200
    body = response.content.decode()
    prefix, suffix = "window.SHOP_CONFIG = ", ";\n"
    assert body.startswith(prefix) and body.endswith(suffix)
    return json.loads(body[len(prefix) : -len(suffix)])


def test_config_js_carries_the_order_limit_and_the_currency_exponents(client):
    config = shop_config(client)

    assert config["maxQuantity"] == django_settings.ORDER_MAX_QUANTITY == 10
    assert config["currencyExponents"] == EXPONENTS
    assert config["currencyExponents"]["jpy"] == 0
    assert config["currencyExponents"]["kwd"] == 3
    assert "usd" not in config["currencyExponents"]  # two decimals: not listed


def test_config_js_takes_the_order_limit_from_settings(client, settings):
    settings.ORDER_MAX_QUANTITY = 3

    assert shop_config(client)["maxQuantity"] == 3


def test_the_database_limits_the_quantity_with_the_setting():
    [constraint] = [c for c in Order._meta.constraints if c.name.startswith("order_quantity")]

    assert ("quantity__lte", django_settings.ORDER_MAX_QUANTITY) in constraint.condition.children
