"""The two payment methods besides cards: amazon_pay (a redirect page and back to
return_url) and us_bank_account (processing, then settled later with its webhooks)."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from .test_confirmation_tokens import stripe_js_token

SECRET = "whsec_devstripe_tests"
RETURN_URL = "https://shop.test/?order=7#top"


def bank_token(client, account="000123456789"):
    return client.v1.test_helpers.confirmation_tokens.create(
        params={
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": account,
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com"},
            },
            "return_url": RETURN_URL,
        }
    )


def amazon_token(client, **params):
    return client.v1.test_helpers.confirmation_tokens.create(
        params={"payment_method_data": {"type": "amazon_pay"}, **params}
    )


def pay(client, token, **params):
    return client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "confirm": True,
            "confirmation_token": token.id,
            "metadata": {"order_id": "7"},
            **params,
        }
    )


def event_types(devstripe, intent_id):
    """The types of the events about one PaymentIntent and its charges, oldest first."""

    def about(obj):
        return obj.get("payment_intent") or obj["id"]

    events = reversed(devstripe.events())
    return [e["type"] for e in events if about(e["data"]["object"]) == intent_id]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


# -- amazon_pay: the redirect page ------------------------------------------------------


def test_amazon_pay_asks_for_a_redirect_even_with_use_stripe_sdk(devstripe, client):
    intent = pay(client, amazon_token(client), return_url=RETURN_URL, use_stripe_sdk=True)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.return_url == RETURN_URL
    page_url = intent.next_action.redirect_to_url.url
    assert page_url == f"{devstripe.url}/redirect/{intent.id}?client_secret={intent.client_secret}"
    assert client.v1.payment_methods.retrieve(intent.payment_method).type == "amazon_pay"
    page = requests.get(page_url, timeout=10)
    assert page.status_code == 200
    assert "devstripe — test redirect page (not Amazon Pay, not your bank)" in page.text
    assert 'id="devstripe-redirect-authorize"' in page.text
    assert 'id="devstripe-redirect-fail"' in page.text
    assert "$42.00 USD" in page.text
    assert (
        requests.get(
            f"{devstripe.url}/redirect/{intent.id}?client_secret=x", timeout=10
        ).status_code
        == 404
    )


def test_authorizing_on_the_redirect_page_pays_and_goes_back_to_return_url(devstripe, client):
    intent = pay(client, amazon_token(client, return_url=RETURN_URL))
    answer = requests.post(
        f"{devstripe.url}/redirect/{intent.id}/authorize",
        data={"client_secret": intent.client_secret},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    back = urlsplit(answer.headers["Location"])
    assert (back.scheme, back.netloc, back.path, back.fragment) == (
        "https",
        "shop.test",
        "/",
        "top",
    )
    assert parse_qs(back.query) == {
        "order": ["7"],
        "payment_intent": [intent.id],
        "payment_intent_client_secret": [intent.client_secret],
        "redirect_status": ["succeeded"],
    }
    paid = client.v1.payment_intents.retrieve(intent.id)
    assert (paid.status, paid.amount_received, paid.next_action) == ("succeeded", 4200, None)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.status, charge.paid) == ("succeeded", True)
    assert charge.payment_method_details.type == "amazon_pay"
    assert "card" not in charge.payment_method_details
    assert event_types(devstripe, intent.id)[-3:] == [
        "payment_intent.requires_action",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    # Nothing left to authorize.
    again = requests.post(
        f"{devstripe.url}/redirect/{intent.id}/authorize",
        data={"client_secret": intent.client_secret},
        allow_redirects=False,
        timeout=10,
    )
    assert again.status_code == 400


def test_failing_on_the_redirect_page_asks_for_another_payment_method(devstripe, client):
    intent = pay(client, amazon_token(client), return_url=RETURN_URL)
    back = devstripe.redirect(intent.id, authorize=False)
    assert "redirect_status=failed" in back
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method, failed.latest_charge) == (
        "requires_payment_method",
        None,
        None,
    )
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    assert failed.last_payment_error.payment_method.type == "amazon_pay"
    assert event_types(devstripe, intent.id)[-1] == "payment_intent.payment_failed"
    card = client.v1.test_helpers.confirmation_tokens.create(
        params={"payment_method": "pm_card_visa"}
    )
    again = client.v1.payment_intents.confirm(
        intent.id, params={"confirmation_token": card.id, "return_url": RETURN_URL}
    )
    assert again.status == "succeeded"


def test_amazon_pay_needs_a_return_url_and_redirects_allowed(client):
    with pytest.raises(stripe.InvalidRequestError, match="return_url"):
        pay(client, amazon_token(client), payment_method_types=["amazon_pay"])
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(
            client,
            amazon_token(client),
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
        )
    assert caught.value.code == "payment_intent_incompatible_payment_method"
    assert "(amazon_pay) is not allowed" in caught.value.user_message
    with pytest.raises(stripe.InvalidRequestError, match="not allowed"):
        pay(client, amazon_token(client), payment_method_types=["card"], return_url=RETURN_URL)
    assert client.v1.payment_intents.list().data == []


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    from .test_devstripe_stripejs import chromium_path

    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser.new_page()
        browser.close()


@pytest.mark.browser
def test_the_redirect_page_works_in_a_browser(devstripe, client, page):
    """Chromium presses the button and lands on return_url with Stripe's query."""
    intent = pay(client, amazon_token(client), return_url="http://127.0.0.1:9/back?x=1")
    page.goto(intent.next_action.redirect_to_url.url)
    assert page.title() == "devstripe — test redirect page (not Amazon Pay, not your bank)"
    with page.expect_request(lambda r: r.url.startswith("http://127.0.0.1:9/back")) as went:
        page.get_by_role("button", name="Authorize test payment").click()
    query = parse_qs(urlsplit(went.value.url).query)
    assert query["x"] == ["1"] and query["redirect_status"] == ["succeeded"]
    assert query["payment_intent"] == [intent.id]
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


# -- us_bank_account: processing, then settled --------------------------------------------


def test_a_bank_debit_is_processing_with_a_pending_charge(devstripe, client):
    devstripe.configure(processing_delay_ms=60_000)
    intent = pay(client, bank_token(client))
    assert intent.status == "processing"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid) == ("pending", False)
    details = charge.payment_method_details
    assert details.type == "us_bank_account" and "card" not in details
    assert (details.us_bank_account.last4, details.us_bank_account.routing_number) == (
        "6789",
        "110000000",
    )
    assert details.us_bank_account.bank_name == "STRIPE TEST BANK"
    assert event_types(devstripe, intent.id) == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
    ]
    with pytest.raises(stripe.InvalidRequestError, match="status of processing"):
        client.v1.payment_intents.confirm(intent.id, params={"return_url": RETURN_URL})
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        client.v1.refunds.create(params={"payment_intent": intent.id})


def test_the_settle_route_succeeds_a_good_account_at_once(devstripe, client):
    devstripe.configure(processing_delay_ms=60_000)
    intent = pay(client, bank_token(client))
    settled = devstripe.settle(intent.id)
    assert (settled["status"], settled["amount_received"]) == ("succeeded", 4200)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid) == ("succeeded", True)
    assert event_types(devstripe, intent.id)[-2:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    with pytest.raises(Exception, match="not processing"):
        devstripe.settle(intent.id)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert (refund.amount, refund.status) == (4200, "succeeded")
    assert refund.destination_details.type == "us_bank_account"


def test_insufficient_funds_fails_when_it_settles(devstripe, client):
    devstripe.configure(processing_delay_ms=60_000)
    intent = pay(client, bank_token(client, "000222222227"))
    assert intent.status == "processing"
    failed = devstripe.settle(intent.id)
    assert (failed["status"], failed["payment_method"]) == ("requires_payment_method", None)
    error = failed["last_payment_error"]
    assert error["code"] == "insufficient_funds"
    assert (
        error["message"] == "The customer's account has insufficient funds to cover this payment."
    )
    assert error["payment_method"]["type"] == "us_bank_account"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.failure_code) == ("failed", "insufficient_funds")
    assert event_types(devstripe, intent.id)[-2:] == [
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_processing_settles_by_itself_after_the_delay_with_signed_webhooks(
    devstripe, client, receiver
):
    devstripe.configure(webhook_url=receiver.url, webhook_secret=SECRET, processing_delay_ms=700)
    started = time.monotonic()
    good = pay(client, bank_token(client))
    bad = pay(client, bank_token(client, "000222222227"))
    time.sleep(0.3)
    assert client.v1.payment_intents.retrieve(good.id).status == "processing"

    def settled():
        seen = {}
        for headers, body in receiver.received:
            # Raises unless signed with the endpoint's secret.
            stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
            event = json.loads(body)
            obj = event["data"]["object"]
            seen[event["type"], obj.get("payment_intent") or obj["id"]] = event
        wanted = [
            ("payment_intent.succeeded", good.id),
            ("charge.succeeded", good.id),
            ("payment_intent.payment_failed", bad.id),
            ("charge.failed", bad.id),
        ]
        return all(w in seen for w in wanted) and seen

    assert wait_for(settled, timeout=10)
    assert time.monotonic() - started >= 0.7
    assert client.v1.payment_intents.retrieve(good.id).status == "succeeded"
    failed = client.v1.payment_intents.retrieve(bad.id)
    assert failed.last_payment_error.code == "insufficient_funds"


def test_a_reset_cancels_a_pending_settlement(devstripe, client):
    devstripe.configure(processing_delay_ms=300)
    pay(client, bank_token(client))
    devstripe.reset()
    time.sleep(0.6)
    assert client.v1.events.list().data == []


def test_a_bank_debit_needs_the_account_holders_name(devstripe):
    answer = stripe_js_token(
        devstripe,
        **{
            "payment_method_data[type]": "us_bank_account",
            "payment_method_data[billing_details][name]": "",
            "payment_method_data[us_bank_account][routing_number]": "110000000",
            "payment_method_data[us_bank_account][account_number]": "000123456789",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "payment_method_data[billing_details][name]"


def test_a_bad_routing_number_is_refused_when_the_token_is_made(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.test_helpers.confirmation_tokens.create(
            params={
                "payment_method_data": {
                    "type": "us_bank_account",
                    "us_bank_account": {
                        "routing_number": "11000",
                        "account_number": "000123456789",
                    },
                    "billing_details": {"name": "Jenny Rosen"},
                }
            }
        )
    assert caught.value.param == "payment_method_data[us_bank_account][routing_number]"


def test_card_only_payment_intents_refuse_a_bank_account(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, bank_token(client), payment_method_types=["card"])
    assert caught.value.code == "payment_intent_incompatible_payment_method"
    assert caught.value.param == "confirmation_token"


def test_automatic_payment_methods_offer_all_three(client):
    intent = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    assert intent.payment_method_types == ["card", "amazon_pay", "us_bank_account"]
    no_redirects = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert no_redirects.payment_method_types == ["card", "us_bank_account"]


def test_payment_methods_of_the_new_types_can_be_created(client):
    bank = client.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"routing_number": "110000000", "account_number": "000123456789"},
            "billing_details": {"name": "Jenny Rosen"},
        }
    )
    assert (bank.type, bank.us_bank_account.last4) == ("us_bank_account", "6789")
    amazon = client.v1.payment_methods.create(params={"type": "amazon_pay"})
    assert amazon.type == "amazon_pay"
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "confirm": True,
            "payment_method": bank.id,
            "return_url": RETURN_URL,
        }
    )
    assert intent.status == "processing"
