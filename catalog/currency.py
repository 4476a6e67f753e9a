"""Currencies as Stripe counts them: the one table of decimals, and a price in the smallest unit.

Orders are charged with `amount_in_smallest_unit`; config.js hands `EXPONENTS` to the page
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
"""

from decimal import Decimal

DEFAULT_EXPONENT = 2

ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split()
)
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())
# Two decimals in the API, but whole units only: the amount is a multiple of 100.
WHOLE_UNIT_CURRENCIES = frozenset({"isk", "ugx"})

# Every currency whose exponent is not DEFAULT_EXPONENT: the map config.js carries.
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


def amount_in_smallest_unit(price: Decimal, quantity: int, currency: str) -> int:
    """price × quantity in the currency's smallest unit (cents, yen, fils), exactly.

    Decimal arithmetic, never float. A price that Stripe cannot charge is refused, not
    rounded (ValueError): more decimals than the currency has (0.5 JPY, 19.999 USD), or
    than Stripe takes (5.125 KWD, 5.50 ISK). The price of one unit is checked, so the
    amount is chargeable whatever the quantity.
    """
    code = currency.lower()
    places = _CHARGEABLE_DECIMALS.get(code, exponent(code))
    if not price.is_finite():
        raise ValueError(f"{price} is not a price")
    if price.scaleb(places) != price.scaleb(places).to_integral_value():
        raise ValueError(
            f"{price} {code} has more decimals than the currency allows "
            f"(Stripe charges {code} with at most {places})"
        )
    return int(price.scaleb(exponent(code))) * quantity
