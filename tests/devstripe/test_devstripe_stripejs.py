"""The Stripe.js stand-in in a real Chromium, on a page from another origin, used the way
a shop's front end uses Stripe.js v3: card Element, createToken, createPaymentMethod and
handleNextAction with devstripe's test 3-D Secure page in its modal."""

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shop</title>
<script src="{devstripe}/v3/"></script></head>
<body>
<form id="checkout"><input name="email" value="a@b.test"><div id="card-element"></div></form>
<script>
  window.stripe = Stripe('{publishable_key}');
  window.card = stripe.elements().create('card', {{hidePostalCode: true}});
  window.changes = [];
  window.ready = false;
  card.on('change', (event) => changes.push(event));
  card.on('ready', () => {{ window.ready = true; }});
  card.mount('#card-element');
</script></body></html>"""


def chromium_path():
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/lib/chromium/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def shop_page(devstripe, browser):
    """A page from another origin that loads devstripe's Stripe.js and mounts a card."""
    html = PAGE.format(devstripe=devstripe.url, publishable_key=devstripe.publishable_key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://localhost:{server.server_address[1]}/checkout")
    page.wait_for_function("window.ready === true")
    yield page
    context.close()
    server.shutdown()
    server.server_close()


def type_card(page, number, expiry="12 / 34", cvc="123"):
    page.get_by_label("Card number").fill("")
    page.locator("#devstripe-card-number").press_sequentially(number)
    page.locator("#devstripe-card-expiry").press_sequentially(expiry.replace(" / ", ""))
    page.locator("#devstripe-card-cvc").press_sequentially(cvc)


def test_the_card_element_is_labelled_and_kept_out_of_the_shops_form(shop_page):
    page = shop_page
    assert page.get_by_text("devstripe test card form — local stand-in, not Stripe").is_visible()
    for label, input_id in [
        ("Card number", "devstripe-card-number"),
        ("Expiration date (MM / YY)", "devstripe-card-expiry"),
        ("Security code (CVC)", "devstripe-card-cvc"),
    ]:
        assert page.get_by_label(label).get_attribute("id") == input_id
    type_card(page, "4242424242424242")
    assert page.input_value("#devstripe-card-number") == "4242 4242 4242 4242"
    assert page.input_value("#devstripe-card-expiry") == "12 / 34"
    # Like Stripe's iframe: the card never reaches the page's own form data.
    fields = page.evaluate("[...new FormData(document.getElementById('checkout')).keys()]")
    assert fields == ["email"]
    last = page.evaluate("changes[changes.length - 1]")
    assert last == {
        "elementType": "card",
        "empty": False,
        "complete": True,
        "brand": "visa",
        "value": {},
    }


def test_create_token_posts_with_the_publishable_key(devstripe, shop_page):
    type_card(shop_page, "5555555555554444")
    result = shop_page.evaluate("stripe.createToken(card)")
    token = result["token"]
    assert token["id"].startswith("tok_") and token["card"]["brand"] == "MasterCard"
    [sent] = devstripe.requests(path="/v1/tokens")
    assert sent["key_kind"] == "publishable"
    assert sent["params"]["card"]["number"] == "************4444"


def test_invalid_details_are_validation_errors_without_a_request(devstripe, shop_page):
    type_card(shop_page, "4242424242424241")
    last = shop_page.evaluate("changes[changes.length - 1]")
    assert last["error"] == {
        "type": "validation_error",
        "code": "invalid_number",
        "message": "Your card number is invalid.",
    }
    result = shop_page.evaluate("stripe.createToken(card)")
    assert result["error"]["code"] == "invalid_number"
    shop_page.evaluate("card.clear()")
    assert shop_page.evaluate("stripe.createToken(card)")["error"] == {
        "type": "validation_error",
        "code": "incomplete_number",
        "message": "Your card number is incomplete.",
    }
    assert devstripe.requests(path="/v1/tokens") == []


def test_an_incomplete_cvc_is_reported_on_blur_and_by_create_token(shop_page):
    type_card(shop_page, "4242424242424242", expiry="12 / 34", cvc="12")
    shop_page.locator("#devstripe-card-number").focus()  # leave the CVC
    assert shop_page.evaluate("changes[changes.length - 1].error.code") == "incomplete_cvc"
    assert shop_page.get_attribute("#devstripe-card-cvc", "aria-invalid") == "true"
    result = shop_page.evaluate("stripe.createToken(card)")
    assert result["error"]["code"] == "incomplete_cvc"


def pay_with_3d_secure(client, shop_page, number="4000002760003184"):
    type_card(shop_page, number)
    method = shop_page.evaluate("stripe.createPaymentMethod({type: 'card', card: card})")
    pm_id = method["paymentMethod"]["id"]
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": pm_id,
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    shop_page.evaluate(
        "secret => { window.result = null;"
        " stripe.handleNextAction({clientSecret: secret}).then(r => { window.result = r; }); }",
        intent.client_secret,
    )
    frame = shop_page.frame_locator("#devstripe-3ds-frame")
    assert frame.get_by_role("heading").inner_text() == (
        "devstripe — test 3-D Secure page (not your bank)"
    )
    return intent, frame


def test_handle_next_action_completes_3d_secure_in_a_modal(client, shop_page):
    intent, frame = pay_with_3d_secure(client, shop_page)
    frame.locator("#devstripe-3ds-complete").click()
    shop_page.wait_for_function("window.result !== null")
    result = shop_page.evaluate("window.result")
    assert result["paymentIntent"]["id"] == intent.id
    assert result["paymentIntent"]["status"] == "succeeded"
    assert shop_page.locator("#devstripe-3ds-modal").count() == 0
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_handle_next_action_reports_a_failed_authentication(client, shop_page):
    intent, frame = pay_with_3d_secure(client, shop_page, number="4000000000003220")
    frame.locator("#devstripe-3ds-fail").click()
    shop_page.wait_for_function("window.result !== null")
    error = shop_page.evaluate("window.result")["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "payment_intent_authentication_failure"
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert error["message"] == (
        "We are unable to authenticate your payment method. Please choose a different payment "
        "method and try again."
    )


def test_handle_next_action_errors_when_there_is_no_action(client, shop_page):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    result = shop_page.evaluate(
        "secret => stripe.handleNextAction({clientSecret: secret})", intent.client_secret
    )
    assert result["error"]["code"] == "payment_intent_unexpected_state"
    assert result["error"]["payment_intent"]["status"] == "succeeded"
