"""The shop in a real browser: Debian's Chromium driven by Playwright.

The shop runs in Django's live server (a thread of this process, on the test database,
demo catalog loaded) and pays at the tests' devstripe, which also serves the Stripe.js
stand-in the pages load. Chromium is launched by path: Playwright's own browser
download needs the internet, and `scripts/bootstrap --dev` installs Debian's.
"""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
# No sandbox (tests may run as root), no GPU, and nothing that reaches the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    """Browser tests run after the API suites (a stable sort: each keeps its order)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the browser tests (closed after the last one).

    Playwright's sync API runs an event loop in the test thread, and Django refuses ORM
    calls from a thread with a running loop; the tests only drive the browser with it,
    so that check is switched off while the browser is up.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap --dev")
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def shop(browser, live_server, transactional_db, devstripe, settings):
    """The shop's address: API and front end on one port, paying at devstripe."""
    settings.STRIPE_JS_URL = f"{devstripe.url}/v3/"
    call_command("seed_products", stdout=StringIO())
    return live_server.url


@pytest.fixture
def bank_debits_settle_after(devstripe):
    """bank_debits_settle_after(ms): how long devstripe keeps a bank debit (a US bank
    account PaymentIntent) processing before it settles by itself and sends its webhooks.
    devstripe keeps its config across tests: the default is put back after the test."""

    def settle_after(milliseconds):
        devstripe.configure(processing_delay_ms=milliseconds)

    yield settle_after
    devstripe.configure(processing_delay_ms=None)


def open_page(browser, shop, viewport, **options):
    context = browser.new_context(
        base_url=shop, viewport=viewport, locale="en-US", timezone_id="UTC", **options
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(error))
    return page


@pytest.fixture
def page(browser, shop):
    """A fresh browser tab (no login), desktop size. Fails the test on a JavaScript error."""
    page = open_page(browser, shop, DESKTOP)
    yield page
    page.context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"


@pytest.fixture
def phone_page(browser, shop):
    """The same on a phone-sized screen, with touch."""
    page = open_page(browser, shop, PHONE, is_mobile=True, has_touch=True)
    yield page
    page.context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"
