"""What the shopper reads when something breaks: plain sentences, no status codes or
library names."""

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.shopper import click_buy, log_in

pytestmark = pytest.mark.browser

TECHNICAL = re.compile(r"HTTP|\b5\d\d\b|Stripe\.js|config\.json", re.IGNORECASE)


def test_a_server_error_is_told_in_a_plain_sentence(page, shop):
    page.route("**/api/product/", lambda route: route.fulfill(status=500, body=""))
    page.goto("/#/catalog")

    alert = page.locator("#main .alert")
    expect(alert).to_contain_text("The catalog could not be loaded.")
    expect(alert).to_contain_text("Please try again in a moment.")
    assert not TECHNICAL.search(alert.inner_text())
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_a_payment_form_that_cannot_load_is_told_in_a_plain_sentence(page, user, devstripe):
    page.route(lambda url: url.startswith(devstripe.url), lambda route: route.abort())
    log_in(page, user.email)
    popup = click_buy(page, "Canvas Tote")

    error = popup.locator(".pay-error")
    expect(error).to_have_text("Payments are unavailable right now.")
    expect(popup.locator(".pay-advice")).to_contain_text("Nothing was charged.")
    assert not TECHNICAL.search(popup.locator(".card-feedback").inner_text())
    expect(popup).not_to_have_attribute("aria-busy", "true")
