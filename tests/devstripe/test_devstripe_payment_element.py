"""The Stripe.js stand-in's Payment Element in a real Chromium, on a page from another origin
under a Content-Security-Policy like the shop's (scripts from itself and devstripe only, no
inline script, no inline style attributes), used as a shop uses Stripe.js v3 in deferred-intent
mode: elements({mode, amount, currency}), create('payment'), submit(), createConfirmationToken()
and handleNextAction()."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.devstripe.test_devstripe_stripejs import browser  # noqa: F401 (the Chromium fixture)
from tests.frontend.shopper import next_year_expiry, wait_until_true

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent.parent / "frontend" / "vendor" / "axe-core" / "axe.min.js"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{devstripe}/v3/"></script><script src="/page.js"></script></head>
<body><main><h1>Checkout</h1>
<form id="checkout"><input name="email" value="a@b.test" aria-label="Email">
<div id="payment-element"></div></form></main></body></html>"""

# The shop's page script: no inline script, as the policy wants.
PAGE_JS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
window.stripe = Stripe('%(publishable_key)s');
// The shop's appearance: its colorDanger must still read on the element's background.
window.elements = stripe.elements({
  mode: 'payment', amount: 4200, currency: 'usd',
  appearance: {theme: 'stripe', variables: {colorText: '#212529', colorDanger: '#dc3545'}},
});
window.payment = elements.create('payment');
window.changes = [];
window.ready = false;
payment.on('change', (event) => changes.push(event));
payment.on('ready', () => { window.ready = true; });
document.addEventListener('DOMContentLoaded', () => payment.mount('#payment-element'));
"""

RETURNED = "<!doctype html><html lang='en'><head><title>back</title></head><body>back</body></html>"


def policy(devstripe_url):
    return (
        f"default-src 'self'; script-src 'self' {devstripe_url}; style-src 'self'; "
        f"connect-src 'self' {devstripe_url}; frame-src {devstripe_url}; img-src 'self' data:"
    )


@pytest.fixture
def shop(devstripe):
    """A shop's origin serving the checkout page, its script, axe, and a return_url page."""
    files = {
        "/checkout": (PAGE.format(devstripe=devstripe.url), "text/html"),
        "/page.js": (PAGE_JS % {"publishable_key": devstripe.publishable_key}, "text/javascript"),
        "/axe.js": (AXE.read_text() if AXE.exists() else "", "text/javascript"),
        "/done": (RETURNED, "text/html"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body, kind = files.get(urlsplit(self.path).path, ("not found", "text/plain"))
            data = body.encode()
            self.send_response(200 if kind != "text/plain" else 404)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Security-Policy", policy(devstripe.url))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def open_checkout(browser, shop, **context_options):  # noqa: F811 (browser is the fixture)
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.goto(f"{shop}/checkout")
    wait_until_true(page, "window.ready === true")
    return page


@pytest.fixture
def page(browser, shop):  # noqa: F811
    page = open_checkout(browser, shop)
    yield page
    if urlsplit(page.url).path == "/checkout":  # not after a redirect took it elsewhere
        assert page.evaluate("window.cspViolations") == []
    page.context.close()


def element(page):
    return page.locator(".devstripe-payment")


def last_change(page):
    return page.evaluate("changes[changes.length - 1]")


def choose(page, method_name):
    page.get_by_role("radio", name=method_name).check()


def enter_card(page, number, expiry=None, cvc="123"):
    """As tests/frontend/shopper.py enter_card does it: by the fields' labels."""
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date").fill(expiry or next_year_expiry())
    page.get_by_label("Security code").fill(cvc)


def enter_bank_account(page, account, routing="110000000", name="Sam Shopper"):
    choose(page, "US bank account (test: settles later)")
    page.get_by_label("Account holder name").fill(name)
    page.get_by_label("Routing number").fill(routing)
    page.get_by_label("Account number").fill(account)


def submit(page):
    return page.evaluate("elements.submit()")


def confirmation_token(page, return_url=None):
    """elements.submit() then stripe.createConfirmationToken(), as the shop's pop-up does."""
    return page.evaluate(
        """async (returnUrl) => {
            const submitted = await elements.submit();
            if (submitted.error) return submitted;
            return stripe.createConfirmationToken({elements, params: {return_url: returnUrl}});
        }""",
        return_url,
    )


def test_the_payment_element_mounts_in_deferred_mode_offering_three_labelled_methods(page):
    assert page.get_by_text("devstripe test payment form — local stand-in, not Stripe").is_visible()
    methods = page.get_by_role("group", name="Payment method").get_by_role("radio")
    assert methods.count() == 3
    expect(page.get_by_role("radio", name="Card", exact=True)).to_be_checked()
    expect(
        page.get_by_role("radio", name="Amazon Pay (test: devstripe redirect page)")
    ).to_be_visible()
    expect(page.get_by_role("radio", name="US bank account (test: settles later)")).to_be_visible()
    for label in ("Card number", "Expiration date", "Security code"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_label("Routing number")).to_be_hidden()
    assert page.evaluate("elements.getElement('payment') === payment")
    assert page.evaluate("elements.getElement('card')") is None


def test_card_fields_are_formatted_and_kept_out_of_the_shops_form(page):
    enter_card(page, "4242424242424242", expiry="1234", cvc="123")
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"
    assert page.get_by_label("Expiration date").input_value() == "12 / 34"
    # Like Stripe's iframe: nothing typed into the Element reaches the page's own form data.
    fields = page.evaluate("[...new FormData(document.getElementById('checkout')).keys()]")
    assert fields == ["email"]


def test_change_events_say_which_method_is_chosen_and_whether_it_is_complete(page):
    page.get_by_label("Card number").fill("4242")
    assert last_change(page) == {
        "elementType": "payment",
        "empty": False,
        "complete": False,
        "collapsed": False,
        "value": {"type": "card"},
    }
    enter_card(page, "4242424242424242")
    assert last_change(page)["complete"] is True

    enter_bank_account(page, account="")
    assert last_change(page)["value"] == {"type": "us_bank_account"}
    assert last_change(page)["complete"] is False
    page.get_by_label("Account number").fill("000123456789")
    assert last_change(page)["complete"] is True

    choose(page, "Amazon Pay (test: devstripe redirect page)")
    assert last_change(page) == {
        "elementType": "payment",
        "empty": False,
        "complete": True,
        "collapsed": False,
        "value": {"type": "amazon_pay"},
    }
    expect(page.get_by_label("Card number")).to_be_hidden()


def test_submit_returns_stripe_js_validation_errors_and_shows_them_in_the_element(devstripe, page):
    assert submit(page) == {
        "error": {
            "type": "validation_error",
            "code": "incomplete_number",
            "message": "Your card number is incomplete.",
        }
    }
    number = page.get_by_label("Card number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_accessible_description("Your card number is incomplete.")
    alerts = element(page).get_by_role("alert")
    expect(alerts.filter(has_text="Your card's expiration date is incomplete.")).to_be_visible()
    expect(alerts.filter(has_text="Your card's security code is incomplete.")).to_be_visible()

    enter_card(page, "4242424242424241")
    assert submit(page)["error"]["message"] == "Your card number is invalid."
    enter_card(page, "4242424242424242", expiry="1210")
    assert submit(page)["error"]["message"] == "Your card's expiration year is in the past."

    enter_bank_account(page, account="000123456789", routing="110000001")
    assert submit(page)["error"] == {
        "type": "validation_error",
        "code": "invalid_routing_number",
        "message": "Your routing number is invalid.",
    }
    expect(alerts.filter(has_text="Your routing number is invalid.")).to_be_visible()
    page.get_by_label("Account holder name").fill("")
    assert submit(page)["error"]["message"] == "Please enter the account holder's name."
    # The bank form tells a tester which numbers to use, after the field's own error.
    expect(page.get_by_label("Routing number")).to_have_accessible_description(
        "Your routing number is invalid. Test numbers: routing 110000000; account "
        "000123456789 succeeds, 000222222227 fails (insufficient funds). "
        "The payment settles a few seconds later."
    )
    assert devstripe.requests(path="/v1/confirmation_tokens") == []


def test_a_field_left_incomplete_shows_its_error_when_the_customer_moves_on(page):
    page.get_by_label("Card number").fill("4242 4242")
    expect(element(page).get_by_role("alert").filter(has_text="incomplete")).to_have_count(0)
    page.get_by_label("Expiration date").focus()
    expect(page.get_by_text("Your card number is incomplete.")).to_be_visible()


def test_submit_succeeds_with_the_selected_method(page):
    enter_card(page, "4242424242424242")
    assert submit(page) == {"selectedPaymentMethod": "card"}
    expect(element(page).get_by_role("alert").filter(has_text="Your")).to_have_count(0)


def test_create_confirmation_token_wants_a_submit_first(page):
    enter_card(page, "4242424242424242")
    with pytest.raises(sync_api.Error, match=r"elements.submit\(\) must be called before"):
        page.evaluate("stripe.createConfirmationToken({elements})")
    submit(page)
    page.get_by_label("Security code").fill("456")  # a change after the submit
    with pytest.raises(sync_api.Error, match=r"elements.submit\(\) must be called before"):
        page.evaluate("stripe.createConfirmationToken({elements})")


def test_read_only_disables_every_field_and_keeps_what_was_entered(page):
    enter_card(page, "4242424242424242")
    page.evaluate("payment.update({readOnly: true})")
    inputs = element(page).locator("input")
    assert inputs.count() == 9  # 3 methods, 3 card fields, 3 bank account fields
    for index in range(inputs.count()):
        expect(inputs.nth(index)).to_be_disabled()
    page.evaluate("payment.update({readOnly: false})")
    expect(page.get_by_label("Card number")).to_be_enabled()
    expect(page.get_by_role("radio", name="Card", exact=True)).to_be_enabled()
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"


def test_elements_update_changes_the_amount_the_element_shows(page):
    choose(page, "Amazon Pay (test: devstripe redirect page)")
    expect(page.get_by_text("the payment of $42.00")).to_be_visible()
    page.evaluate(
        "window.updated = false; elements.on('update-end', () => { window.updated = true; });"
    )
    page.evaluate("elements.update({amount: 12550})")
    assert page.evaluate("window.updated") is True
    expect(page.get_by_text("the payment of $125.50")).to_be_visible()
    page.evaluate("elements.update({amount: 5000, currency: 'jpy'})")
    expect(page.get_by_text("the payment of ¥5,000")).to_be_visible()
    with pytest.raises(sync_api.Error, match="amount should be a positive integer"):
        page.evaluate("elements.update({amount: 12.5})")


def test_clear_empties_the_fields_and_reports_an_empty_element(page):
    enter_card(page, "4242424242424242")
    submit(page)
    page.evaluate("payment.clear()")
    assert page.get_by_label("Card number").input_value() == ""
    assert last_change(page)["empty"] is True
    assert last_change(page)["complete"] is False
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "false")


def test_focus_unmount_and_destroy(page):
    page.evaluate("payment.focus()")
    expect(page.get_by_label("Card number")).to_be_focused()
    page.evaluate("payment.unmount()")
    expect(element(page)).to_have_count(0)
    page.evaluate("payment.mount('#payment-element')")
    expect(page.get_by_label("Card number")).to_be_visible()
    page.evaluate("payment.destroy()")
    assert page.evaluate("elements.getElement('payment')") is None
    with pytest.raises(sync_api.Error, match="already been destroyed"):
        page.evaluate("payment.mount('#payment-element')")


def test_elements_without_mode_cannot_create_a_payment_element(page):
    with pytest.raises(sync_api.Error, match="you must pass a clientSecret or mode"):
        page.evaluate("stripe.elements().create('payment')")
    with pytest.raises(sync_api.Error, match="currency should be a lowercase"):
        page.evaluate("stripe.elements({mode: 'payment', amount: 100, currency: 'USD'})")


def test_the_element_passes_axe_and_fits_a_320_px_phone(browser, shop):  # noqa: F811
    if not AXE.exists():
        pytest.skip("axe-core is not vendored")
    page = open_checkout(browser, shop, viewport={"width": 320, "height": 640}, is_mobile=True)
    found = []
    for method in (
        None,
        "US bank account (test: settles later)",
        "Amazon Pay (test: devstripe redirect page)",
    ):
        if method:
            choose(page, method)
        if method is None:
            submit(page)  # with its errors showing
        if not page.evaluate("!!window.axe"):
            page.add_script_tag(url="/axe.js")  # from the page's own origin, as its policy allows
        found += page.evaluate(
            """async () => (await axe.run('.devstripe-payment', {resultTypes: ['violations']}))
                .violations.filter((v) => ['serious', 'critical'].includes(v.impact))
                .map((v) => v.id + ': ' + v.help)"""
        )
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, "
            "document.querySelector('.devstripe-payment').getBoundingClientRect().right]"
        )
        assert widths[0] <= 320 and widths[1] <= 320, (method, widths)
    assert found == []
    assert page.evaluate("window.cspViolations") == []
    page.context.close()


# -- with devstripe's ConfirmationTokens (its server side of issue 14) -----------------


def test_create_confirmation_token_for_a_card(devstripe, page, shop):
    enter_card(page, "4242424242424242")
    result = confirmation_token(page, return_url=f"{shop}/done")
    token = result["confirmationToken"]
    assert token["id"].startswith("ctoken_")
    assert token["payment_method_preview"]["type"] == "card"
    assert token["payment_method_preview"]["card"]["last4"] == "4242"
    assert token["return_url"] == f"{shop}/done"
    [sent] = devstripe.requests(path="/v1/confirmation_tokens")
    assert sent["key_kind"] == "publishable"
    assert sent["params"]["payment_method_data"]["type"] == "card"
    assert sent["params"]["payment_method_data"]["card"]["number"] == "************4242"


def test_create_confirmation_token_for_a_us_bank_account(devstripe, page, client, shop):
    enter_bank_account(page, account="000123456789")
    token = confirmation_token(page, return_url=f"{shop}/done")["confirmationToken"]
    preview = token["payment_method_preview"]
    assert preview["type"] == "us_bank_account"
    assert preview["us_bank_account"]["last4"] == "6789"
    assert preview["us_bank_account"]["routing_number"] == "110000000"
    assert preview["billing_details"]["name"] == "Sam Shopper"
    [sent] = devstripe.requests(path="/v1/confirmation_tokens")
    assert sent["params"]["payment_method_data"]["us_bank_account"]["account_holder_type"] == (
        "individual"
    )
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "confirm": True,
            "confirmation_token": token["id"],
        }
    )
    assert intent.status == "processing"


def test_amazon_pay_leaves_for_devstripes_redirect_page_and_comes_back(page, client, shop):
    choose(page, "Amazon Pay (test: devstripe redirect page)")
    return_url = f"{shop}/done?order=7"
    token = confirmation_token(page, return_url=return_url)["confirmationToken"]
    assert token["payment_method_preview"]["type"] == "amazon_pay"
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "confirm": True,
            "confirmation_token": token["id"],
        }
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    page.evaluate(
        "secret => { stripe.handleNextAction({clientSecret: secret}); }", intent.client_secret
    )
    expect(page.get_by_role("heading")).to_have_text(
        "devstripe — test redirect page (not Amazon Pay, not your bank)"
    )
    page.get_by_role("button", name="Authorize test payment").click()
    page.wait_for_url(f"{shop}/done?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["order"] == ["7"]
    assert query["payment_intent"] == [intent.id]
    assert query["redirect_status"] == ["succeeded"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_handle_next_action_follows_a_redirect_to_url(devstripe, client, page, shop):
    """A 3-D Secure card confirmed with a return_url (and no use_stripe_sdk) is a redirect."""
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": f"{shop}/done",
        }
    )
    assert intent.next_action.type == "redirect_to_url"
    page.evaluate(
        "secret => { window.settled = false; stripe.handleNextAction({clientSecret: secret})"
        ".then(() => { window.settled = true; }); }",
        intent.client_secret,
    )
    page.wait_for_url(f"{devstripe.url}/3ds/{intent.id}?*")
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(f"{shop}/done?*")
    assert parse_qs(urlsplit(page.url).query)["redirect_status"] == ["succeeded"]


def test_the_card_element_and_the_payment_element_share_their_card_checks(page):
    """The card Element (create('card')) still works beside the new element."""
    result = page.evaluate(
        """() => {
            const group = stripe.elements();
            const card = group.create('card');
            const box = document.createElement('div');
            document.body.appendChild(box);
            card.mount(box);
            return stripe.createToken(card);
        }"""
    )
    assert result == {
        "error": {
            "type": "validation_error",
            "code": "incomplete_number",
            "message": "Your card number is incomplete.",
        }
    }
