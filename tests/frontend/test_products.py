"""A product's own page (#/products/<id>): what it shows, buying from it, and a product
that is not for sale."""

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from tests.frontend.shopper import fill_login_form, log_in, payment_popup, wait_until_ready

pytestmark = pytest.mark.browser


def test_a_catalog_card_links_to_the_products_page_with_its_details(page, shop):
    tote = Product.objects.get(name="Canvas Tote")
    page.goto("/#/catalog")
    page.get_by_role("link", name="Canvas Tote").click()

    expect(page).to_have_url(f"{shop}/#/products/{tote.id}")
    expect(page.get_by_role("heading", level=1, name="Canvas Tote")).to_be_visible()
    expect(page.locator("#main")).to_contain_text(tote.description)
    expect(page.locator(".product-price")).to_have_text(f"${tote.price}")
    expect(page.locator(".product-page-image")).to_be_visible()
    expect(page.locator("#main").get_by_label("Quantity")).to_have_value("1")
    expect(page.get_by_role("button", name="Buy Canvas Tote")).to_be_visible()
    assert page.title() == "Canvas Tote · Stripe Demo shop"


def test_buying_from_the_products_page_keeps_the_quantity_through_the_login(page, user, devstripe):
    tote = Product.objects.get(name="Canvas Tote")
    page.goto(f"/#/products/{tote.id}")
    page.locator("#main").get_by_label("Quantity").select_option("2")
    page.get_by_role("button", name="Buy Canvas Tote").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    fill_login_form(page, user.email)
    popup = payment_popup(page)
    wait_until_ready(popup)
    expect(popup).to_contain_text("Canvas Tote")
    expect(popup.get_by_label("Quantity")).to_have_value("2")


def test_a_logged_in_shopper_buys_from_the_products_page(page, user, devstripe):
    tote = Product.objects.get(name="Canvas Tote")
    log_in(page, user.email)
    page.goto(f"/#/products/{tote.id}")
    page.locator("#main").get_by_label("Quantity").select_option("3")
    page.get_by_role("button", name="Buy Canvas Tote").click()
    popup = payment_popup(page)
    wait_until_ready(popup)
    expect(popup.get_by_label("Quantity")).to_have_value("3")


@pytest.mark.parametrize("which", ["taken off sale", "unknown"])
def test_a_product_not_for_sale_says_so(page, shop, which):
    if which == "unknown":
        product_id = Product.objects.order_by("-id").first().id + 1000
    else:
        product = Product.objects.get(name="Team Cap")
        product.active = False
        product.save(update_fields=["active"])
        product_id = product.id
    page.goto(f"/#/products/{product_id}")
    expect(page.get_by_role("heading", name="This product is no longer for sale")).to_be_visible()
    expect(page.get_by_role("button", name="Buy Team Cap")).to_have_count(0)
    expect(page.get_by_role("link", name="See what is for sale")).to_be_visible()
