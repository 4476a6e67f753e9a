"""An automated accessibility check (axe-core, vendored in tests/frontend/vendor/) of every
page and of the open card pop-up, at desktop and phone sizes: no serious or critical
violation.

axe is injected as a script, which the page's Content-Security-Policy refuses (as it
should refuse any script it does not list): this test's browser context alone is made
with Playwright's `bypass_csp`. The policy itself is tested in test_csp.py.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from orders.models import Order
from tests.frontend.conftest import open_page
from tests.frontend.shopper import (
    DECLINED,
    enter_card,
    fill_login_form,
    pay_button,
    payment_popup,
    wait_until_ready,
)

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


def violations(page, where, context="document"):
    """axe's serious and critical violations on the page as it is now, as sentences."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=AXE)
    found = page.evaluate(
        f"""async () => {{
            const result = await axe.run({context}, {{resultTypes: ['violations']}});
            return result.violations
                .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => ({{id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}}));
        }}"""
    )
    return [f"{where}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in found]


@pytest.mark.parametrize("size", SIZES)
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    browser, shop, user, devstripe, size
):
    page = open_page(browser, shop, SIZES[size], bypass_csp=True, is_mobile=size == "phone")
    tote = Product.objects.get(name="Canvas Tote")
    found = []

    page.goto("/#/signup")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_role("button", name="Create account").click()  # with its error messages
    expect(page.locator("#signup-email-error")).not_to_be_empty()
    found += violations(page, "sign-up")

    page.goto("/#/login?next=/catalog")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    found += violations(page, "log-in")
    fill_login_form(page, user.email)

    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.locator(".product-card").first).to_be_visible()
    found += violations(page, "catalog")

    page.goto(f"/#/products/{tote.id}")
    expect(page.get_by_role("heading", name="Canvas Tote")).to_be_visible()
    found += violations(page, "product page")

    page.get_by_role("button", name="Buy Canvas Tote").click()
    popup = payment_popup(page)
    wait_until_ready(popup)
    found += violations(page, "card pop-up", "'#buy-modal'")
    enter_card(popup, DECLINED)
    pay_button(popup).click()
    expect(popup.locator(".pay-error")).not_to_be_empty()
    found += violations(page, "card pop-up after a decline", "'#buy-modal'")
    popup.get_by_role("button", name="Cancel").click()
    expect(popup).to_be_hidden()

    order = Order.objects.get()
    page.goto("/#/orders")
    expect(page.locator(f'tr[data-order-id="{order.id}"]')).to_be_visible()
    found += violations(page, "my orders")

    page.goto(f"/#/orders/{order.id}")
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    found += violations(page, "an order's page")

    page.context.close()
    assert not page.js_errors, page.js_errors
    assert not found, "\n".join(found)
