"""The page formats money with the server's currency table and order limit (config.json)."""

import pytest
from playwright.sync_api import expect

from catalog.models import Product

pytestmark = pytest.mark.browser


def test_prices_show_their_currencys_decimals_and_the_quantity_stops_at_the_limit(page, settings):
    Product.objects.create(name="Yen Mug", price="500.00", currency="jpy")
    Product.objects.create(name="Dinar Mug", price="5.12", currency="kwd")

    page.goto("/")

    expect(page.locator(".product-card", has_text="Yen Mug")).to_contain_text("¥500")
    expect(page.locator(".product-card", has_text="Dinar Mug")).to_contain_text("KWD 5.120")
    # Order amounts in the smallest unit, read with config.json's exponents.
    assert page.evaluate("Shop.format.money(5120, 'kwd')") == "KWD\u00a05.120"  # no-break space
    assert page.evaluate("Shop.format.money(500, 'JPY')") == "¥500"
    assert page.evaluate("Shop.format.priceToAmount('5.12', 'kwd')") == 5120
    options = page.locator("#buy-quantity option")
    expect(options).to_have_count(settings.ORDER_MAX_QUANTITY)
    expect(options.last).to_have_attribute("value", str(settings.ORDER_MAX_QUANTITY))
