"""How the pages sit on a screen: My orders on a phone and with long messages, the navbar
on the narrowest phones, the focus ring's contrast, and the order of headings."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from orders.models import Order
from tests.frontend.conftest import open_page
from tests.frontend.shopper import fill_login_form, log_in

pytestmark = pytest.mark.browser

LONG_FAILURE = (
    "Your card was declined. Your request was in test mode, but used a non test card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing."
)


def place_orders(user, count, **fields):
    product = Product.objects.get(name="Canvas Tote")
    for _ in range(count):
        Order.objects.create(
            user=user,
            product=product,
            quantity=1,
            amount=int(product.price * Decimal(100)),
            currency=product.currency,
            **fields,
        )


@pytest.fixture
def small_phone(browser, shop):
    page = open_page(browser, shop, {"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    yield page
    page.context.close()
    assert not page.js_errors


def test_my_orders_on_a_phone_are_compact_rows(small_phone, user):
    place_orders(user, 17, status=Order.Status.PAID)
    place_orders(user, 1, status=Order.Status.FAILED, failure_message=LONG_FAILURE)
    small_phone.goto("/#/login?next=/orders")
    fill_login_form(small_phone, user.email)
    expect(small_phone.get_by_role("heading", name="My orders")).to_be_visible()
    rows = small_phone.locator("tr.order-row")
    expect(rows).to_have_count(18)

    heights = [box["height"] for box in (row.bounding_box() for row in rows.all())]
    # Newest first: the failed order, then 17 paid ones. Each was a six-line block.
    assert max(heights[1:]) <= 75, heights
    assert heights[0] <= 120, heights  # its message (two lines at most) and Pay now
    assert sum(heights) <= 18 * 75, sum(heights)
    assert small_phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(rows.first.locator(".order-status")).to_have_text("Failed")
    expect(rows.first.get_by_role("button", name="Pay order")).to_be_visible()
    expect(rows.nth(1).locator(".order-status")).to_have_text("Paid")


def test_a_long_failure_message_does_not_widen_my_orders(page, user):
    place_orders(user, 1, status=Order.Status.FAILED, failure_message=LONG_FAILURE)
    log_in(page, user.email)
    page.goto("/#/orders")
    failure = page.locator(".order-failure")
    expect(failure).to_be_visible()
    expect(failure).to_have_attribute("title", LONG_FAILURE)  # the whole sentence, on hover
    box = page.locator(".order-status-box").bounding_box()
    assert box["width"] <= 14 * 16, box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert failure.bounding_box()["height"] <= 2 * 24  # two lines at most


@pytest.mark.parametrize("width", [320, 390])
def test_my_orders_fit_a_phone_whatever_the_order_numbers_have_grown_to(browser, shop, user, width):
    # A shop's order numbers grow (MariaDB's test runs reach four digits): a failed order
    # with six digits, its date, quantity, status, reason and Pay now.
    product = Product.objects.get(name="Canvas Tote")
    Order.objects.create(
        id=999_999,
        user=user,
        product=product,
        quantity=2,
        amount=2 * int(product.price * Decimal(100)),
        currency=product.currency,
        status=Order.Status.FAILED,
        failure_message="Your card was declined.",
    )
    page = open_page(browser, shop, {"width": width, "height": 740}, is_mobile=True)
    page.goto("/#/login?next=/orders")
    fill_login_form(page, user.email)
    row = page.locator('tr[data-order-id="999999"]')
    expect(row.get_by_role("button", name="Pay order 999999 again")).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    card = page.locator(".orders-table").bounding_box()
    for part in (".order-amount", ".order-status", ".order-row-actions .btn"):
        box = row.locator(part).bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"], (part, box, card)
    if width >= 375:  # a common phone: still three short lines, the date on one
        assert row.bounding_box()["height"] <= 120, row.bounding_box()
    page.context.close()


def test_the_navbar_stays_one_row_on_a_320_px_screen(browser, shop):
    page = open_page(browser, shop, {"width": 320, "height": 640}, is_mobile=True)
    page.goto("/")
    brand = page.get_by_role("link", name="Stripe Demo shop").bounding_box()
    menu = page.get_by_role("button", name="Menu").bounding_box()
    assert abs(brand["y"] - menu["y"]) < brand["height"], (brand, menu)
    assert page.locator(".shop-navbar").bounding_box()["height"] <= 64
    page.context.close()


def relative_luminance(rgb):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second):
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def focus_ring_of(page):
    """The focused element's outline: style, width in px, and its colour as (r, g, b, alpha)."""
    ring = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    color: style.outlineColor};
        }"""
    )
    numbers = [float(n) for n in re.findall(r"[\d.]+", ring["color"])]
    ring["rgb"] = numbers[:3]
    ring["alpha"] = numbers[3] if len(numbers) > 3 else 1.0
    return ring


def test_the_focus_ring_has_3_to_1_contrast_against_white(page, shop):
    page.goto("/#/catalog")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    page.get_by_role("link", name="Canvas Tote").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # the keyboard put it there: the ring shows
    ring = focus_ring_of(page)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert ring["alpha"] == 1, ring
    assert contrast(ring["rgb"], (255, 255, 255)) >= 3, ring

    page.get_by_role("button", name="Buy Canvas Tote").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    ring = focus_ring_of(page)
    assert contrast(ring["rgb"], (255, 255, 255)) >= 3, ring


HEADING_LEVELS = (
    "() => Array.from(document.querySelectorAll('#main :is(h1, h2, h3, h4, h5, h6)'))"
    ".map((h) => Number(h.tagName[1]))"
)


@pytest.mark.parametrize("address", ["/#/catalog", "/"])
def test_headings_go_down_one_level_at_a_time(page, shop, address):
    page.goto(address)
    expect(page.locator(".product-card").first).to_be_visible()
    levels = page.evaluate(HEADING_LEVELS)
    assert levels[0] == 1
    assert all(after - before <= 1 for before, after in zip(levels, levels[1:], strict=False)), (
        levels
    )
