"""What price a product may have: one that every order of it can be charged at.

An order is 1 to ORDER_MAX_QUANTITY units of one product, charged as price × quantity
in the currency's smallest unit (catalog/currency.py). A product is sellable when the
largest such order is: the decimals of its price are those Stripe takes in its currency,
and ORDER_MAX_QUANTITY units stay within Stripe's maximum charge (which also keeps
`orders_order.amount`, an unsigned int on MariaDB, from overflowing). Smaller orders
then are too: the decimals are the unit price's, and the amount only grows with the
quantity.

`validate_sellable_price` is the one check: Product.clean() runs it, so the admin shows
its message on the field, and `seed_products` saves through full_clean(). The database
holds the same rules as CheckConstraints (`price_constraints`), for writes that skip
validation (`objects.create`, `QuerySet.update`, a shell).
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Round

from catalog.currency import (
    THREE_DECIMAL_CURRENCIES,
    WHOLE_UNIT_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    amount_in_smallest_unit,
    max_price,
)

CURRENCY_CODE = re.compile(r"\A[a-z]{3}\Z")
CURRENCY_CODE_MESSAGE = (
    "A currency is a three-letter ISO code in lowercase, as Stripe takes it: usd."
)

# Currencies whose prices are whole units: Stripe's zero-decimal ones, and ISK and UGX.
_WHOLE_UNITS_ONLY = ZERO_DECIMAL_CURRENCIES | WHOLE_UNIT_CURRENCIES
# Each currency class has one highest price (max_price): its own, or the two-decimal one.
_CLASSES_WITH_OWN_MAXIMUM = (
    ZERO_DECIMAL_CURRENCIES,
    THREE_DECIMAL_CURRENCIES,
    WHOLE_UNIT_CURRENCIES,
)


def validate_sellable_price(price: Decimal | None, currency: str | None) -> None:
    """Raise ValidationError on "price" unless a product can be sold at this price:
    positive, with the decimals Stripe takes in this currency, and ORDER_MAX_QUANTITY
    units within Stripe's maximum charge.

    A missing price, or a currency that is not a code (CURRENCY_CODE, the currency
    field's validator), is reported by that field's own validation (a form's, or
    full_clean's), so it is left alone here rather than reported twice.
    """
    if price is None or currency is None or not CURRENCY_CODE.match(currency):
        return
    quantity = settings.ORDER_MAX_QUANTITY
    try:
        amount_in_smallest_unit(price, quantity, currency)
    except ValueError as refusal:
        message = f"Cannot be sold (an order is 1 to {quantity} units): {refusal}."
        raise ValidationError({"price": ValidationError(message, code="unsellable")}) from None


def price_constraints(quantity: int) -> list[models.CheckConstraint]:
    """The database's copy of the rules above, as far as SQL can say them.

    At most two decimals also keeps a three-decimal currency's amount ending in 0, as
    Stripe wants it; the positive price is the constraint `product_price_positive`.
    """
    whole_units = models.Q(price=Round("price")) | ~models.Q(currency__in=sorted(_WHOLE_UNITS_ONLY))
    # The currencies of a class share one highest price: any of them (min) stands for all.
    own_maximum = [
        models.Q(currency__in=sorted(currencies), price__lte=max_price(min(currencies), quantity))
        for currencies in _CLASSES_WITH_OWN_MAXIMUM
    ]
    two_decimals = ~models.Q(currency__in=sorted(frozenset().union(*_CLASSES_WITH_OWN_MAXIMUM)))
    within_maximum = models.Q(two_decimals, price__lte=max_price("usd", quantity))
    for condition in own_maximum:
        within_maximum |= condition
    return [
        # The lists below are lowercase; on a database that compares case-sensitively an
        # upper-case "JPY" would slip past them.
        models.CheckConstraint(
            condition=models.Q(currency=Lower("currency")),
            name="product_currency_lowercase",
            violation_error_message=CURRENCY_CODE_MESSAGE,
        ),
        # The column has two decimals, but SQLite stores what it is given: 5.125 stays
        # 5.125 there (MariaDB rounds it to 5.13).
        models.CheckConstraint(
            condition=models.Q(price=Round("price", 2)),
            name="product_price_two_decimals",
            violation_error_message="A price has at most two decimals.",
        ),
        models.CheckConstraint(
            condition=whole_units,
            name="product_price_whole_units",
            violation_error_message="This currency is charged in whole units: no decimals.",
        ),
        models.CheckConstraint(
            condition=within_maximum,
            name=f"product_price_chargeable_for_{quantity}",
            violation_error_message=(
                f"{quantity} units at this price are over Stripe's maximum charge."
            ),
        ),
    ]
