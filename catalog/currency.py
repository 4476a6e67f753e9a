"""Currencies as Stripe counts them: the one table of decimals, and a price in the smallest unit.

Orders are charged with `amount_in_smallest_unit`; config.json hands `EXPONENTS` to the page
(stripedemo/frontend_config.py), which formats amounts with it. Plain Python, no Django:
scripts/deploy_frontend.py imports it too.

From Stripe's "Supported currencies" (https://docs.stripe.com/currencies):

- Amounts are integers in the currency's minor unit, two decimals unless listed below:
  19.99 USD is 1999.
- Zero-decimal currencies: 500 JPY is 500.
- Three-decimal currencies (BHD, JOD, KWD, OMR, TND): amounts are in thousandths, but
  Stripe requires their last digit to be 0 ("5.124 KWD must be rounded to 5120 or 5130").
- Special cases: ISK and UGX "transitioned to a zero-decimal currency, but backwards
  compatibility requires you to represent it as a two-decimal value, where the decimal
  amount is always 00" (5 ISK is 500; fractions cannot be charged). UGX is also on the
  zero-decimal list, but this rule is the one for charges. HUF and TWD are zero-decimal
  for payouts only and are charged with two decimals, like any other currency.
- Maximum charge amount: "The amount value supports up to eight digits (e.g., a value of
  99999999 for a USD charge of $999,999.99)". Stripe allows more digits for a few
  currencies (IDR); the shop holds every currency to eight.
"""

from decimal import Decimal

DEFAULT_EXPONENT = 2

# The largest amount of one charge, in the currency's smallest unit: eight digits.
STRIPE_MAX_AMOUNT = 99_999_999

ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split()
)
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())
# Two decimals in the API, but whole units only: the amount is a multiple of 100.
WHOLE_UNIT_CURRENCIES = frozenset({"isk", "ugx"})

# Every currency whose exponent is not DEFAULT_EXPONENT: the map config.json carries.
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(sorted(ZERO_DECIMAL_CURRENCIES), 0),
    **dict.fromkeys(sorted(THREE_DECIMAL_CURRENCIES), 3),
}

# The decimals Stripe takes where it takes fewer than the exponent: a three-decimal
# amount must end in 0, an ISK or UGX amount in 00.
_CHARGEABLE_DECIMALS: dict[str, int] = {
    **dict.fromkeys(THREE_DECIMAL_CURRENCIES, 2),
    **dict.fromkeys(WHOLE_UNIT_CURRENCIES, 0),
}


def exponent(currency: str) -> int:
    """The decimals of an amount in this currency at Stripe: jpy 0, usd 2, kwd 3."""
    return EXPONENTS.get(currency.lower(), DEFAULT_EXPONENT)


def chargeable_decimals(currency: str) -> int:
    """The decimals a price may have to be charged: jpy, isk and ugx 0, usd 2, kwd 2."""
    code = currency.lower()
    return _CHARGEABLE_DECIMALS.get(code, exponent(code))


def max_price(currency: str, quantity: int) -> Decimal:
    """The highest price whose `quantity` units Stripe still charges in one payment.

    99999.99 usd for 10 units (99999990 cents), 9999999 jpy, 99999 isk, 9999.99 kwd.
    """
    code = currency.lower()
    # One step of price in the smallest unit: 1 cent or yen, 10 fils, 100 ISK "cents".
    step = 10 ** (exponent(code) - chargeable_decimals(code))
    largest_unit_amount = STRIPE_MAX_AMOUNT // quantity // step * step
    price = Decimal(largest_unit_amount).scaleb(-exponent(code))
    return price.quantize(Decimal(1).scaleb(-chargeable_decimals(code)))


def amount_in_smallest_unit(price: Decimal, quantity: int, currency: str) -> int:
    """price × quantity in the currency's smallest unit (cents, yen, fils), exactly.

    Decimal arithmetic, never float. A price that Stripe cannot charge is refused, not
    rounded (ValueError): zero or less, more decimals than the currency has (0.5 JPY,
    19.999 USD) or than Stripe takes (5.125 KWD, 5.50 ISK), or an amount over
    STRIPE_MAX_AMOUNT. The decimals are those of the price of one unit, so that the
    amount is chargeable whatever the quantity.
    """
    code = currency.lower()
    places = chargeable_decimals(code)
    if not price.is_finite():
        raise ValueError(f"{price} is not a price")
    if price.scaleb(places) != price.scaleb(places).to_integral_value():
        whole = "in whole units" if places == 0 else f"with at most {places} decimals"
        raise ValueError(
            f"{price} {code} has more decimals than the currency allows "
            f"(Stripe charges {code} {whole})"
        )
    if price <= 0:
        raise ValueError(f"{price} {code} is not a price: it must be more than 0")
    amount = int(price.scaleb(exponent(code))) * quantity
    if amount > STRIPE_MAX_AMOUNT:
        raise ValueError(
            f"{quantity} × {price} {code} is {amount} in the smallest unit of {code}, "
            f"over Stripe's maximum charge of {STRIPE_MAX_AMOUNT}: {quantity} cost at most "
            f"{max_price(code, quantity)} {code} each"
        )
    return amount
