"""ConfirmationTokens: created by Stripe.js (publishable key) or the test helper (secret key),
retrieved with the secret key, and spent once by a PaymentIntent confirmation."""

import pytest
import requests
import stripe

from .conftest import sdk_client

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
RETURN_URL = "https://shop.test/?order=7"


@pytest.fixture
def public(devstripe):
    return sdk_client(devstripe, key=devstripe.publishable_key)


def stripe_js_token(devstripe, **params):
    """POST /v1/confirmation_tokens as Stripe.js sends it: form-encoded, key as a parameter."""
    data = {
        "key": devstripe.publishable_key,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": CARD["number"],
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "40",
        "payment_method_data[card][cvc]": "123",
        "payment_method_data[billing_details][name]": "Jenny Rosen",
        "payment_method_data[billing_details][email]": "jenny@example.com",
        "return_url": RETURN_URL,
        **params,
    }
    return requests.post(f"{devstripe.url}/v1/confirmation_tokens", data=data, timeout=10)


def make_token(client, payment_method="pm_card_visa", **params):
    return client.v1.test_helpers.confirmation_tokens.create(
        params={"payment_method": payment_method, **params}
    )


def pay(client, token, **params):
    return client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "confirm": True,
            "confirmation_token": token,
            "automatic_payment_methods": {"enabled": True},
            **params,
        }
    )


def test_stripe_js_creates_a_token_with_the_publishable_key(devstripe, client):
    answer = stripe_js_token(devstripe)
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["id"].startswith("ctoken_") and token["object"] == "confirmation_token"
    assert token["expires_at"] == token["created"] + 12 * 60 * 60
    assert (token["livemode"], token["payment_intent"], token["setup_intent"]) == (
        False,
        None,
        None,
    )
    assert token["return_url"] == RETURN_URL
    assert token["use_stripe_sdk"] is True
    assert token["mandate_data"] is None and token["shipping"] is None
    preview = token["payment_method_preview"]
    assert preview["type"] == "card"
    assert preview["billing_details"]["name"] == "Jenny Rosen"
    assert preview["billing_details"]["email"] == "jenny@example.com"
    card = preview["card"]
    assert (card["brand"], card["display_brand"], card["last4"]) == ("visa", "visa", "4242")
    assert (card["exp_month"], card["exp_year"], card["funding"]) == (12, 2040, "credit")
    assert "number" not in card and "cvc" not in card

    retrieved = client.v1.confirmation_tokens.retrieve(token["id"])
    assert retrieved.to_dict() == token
    [logged] = devstripe.requests(path="/v1/confirmation_tokens")
    assert logged["key_kind"] == "publishable"
    assert logged["params"]["payment_method_data"]["card"]["number"] == "************4242"
    assert logged["params"]["payment_method_data"]["card"]["cvc"] == "***"


def test_a_bad_card_is_a_402_card_error_when_the_token_is_made(devstripe):
    answer = stripe_js_token(devstripe, **{"payment_method_data[card][number]": "4242424242424241"})
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "card_error",
        "incorrect_number",
        "number",
    )
    assert error["message"] == "Your card number is incorrect."


def test_a_publishable_key_may_neither_retrieve_nor_use_the_test_helper(devstripe, public):
    token = stripe_js_token(devstripe).json()
    with pytest.raises(stripe.AuthenticationError) as caught:
        public.v1.confirmation_tokens.retrieve(token["id"])
    assert caught.value.error.code == "secret_key_required"
    with pytest.raises(stripe.AuthenticationError):
        make_token(public)


def test_the_test_helper_makes_a_token_from_a_magic_payment_method(client):
    token = make_token(client, return_url=RETURN_URL)
    assert token.use_stripe_sdk is False
    assert token.return_url == RETURN_URL
    assert token.payment_method_preview.card.last4 == "4242"
    assert token.payment_method_preview.type == "card"


def test_the_test_helper_takes_payment_method_data_and_shipping(client):
    token = client.v1.test_helpers.confirmation_tokens.create(
        params={
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": "000123456789",
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Jenny Rosen"},
            },
            "shipping": {"name": "Jenny Rosen", "address": {"line1": "1 Main St"}},
        }
    )
    bank = token.payment_method_preview.us_bank_account
    assert (bank.bank_name, bank.last4, bank.routing_number) == (
        "STRIPE TEST BANK",
        "6789",
        "110000000",
    )
    assert (bank.account_holder_type, bank.account_type) == ("individual", "checking")
    assert token.shipping.address.line1 == "1 Main St"


def test_an_unknown_token_is_a_404_to_retrieve(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.confirmation_tokens.retrieve("ctoken_nope")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_confirming_with_a_token_pays_and_uses_it_up(client):
    token = make_token(client, return_url=RETURN_URL)
    intent = pay(client, token.id, metadata={"order_id": "7"})
    assert intent.status == "succeeded"
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    used = client.v1.confirmation_tokens.retrieve(token.id)
    assert used.payment_intent == intent.id
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.payment_method_details.type, charge.payment_method_details.card.last4) == (
        "card",
        "4242",
    )


def test_a_token_from_stripe_js_pays_with_its_card_and_billing_details(devstripe, client):
    token = stripe_js_token(devstripe).json()
    intent = pay(client, token["id"])
    assert intent.status == "succeeded"
    method = client.v1.payment_methods.retrieve(intent.payment_method)
    assert (method.type, method.card.last4, method.billing_details.name) == (
        "card",
        "4242",
        "Jenny Rosen",
    )


def test_a_token_is_single_use(client):
    token = make_token(client, return_url=RETURN_URL)
    first = pay(client, token.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, token.id)
    assert caught.value.http_status == 400
    assert caught.value.error.type == "invalid_request_error"
    assert caught.value.error.param == "confirmation_token"
    assert "already been used" in caught.value.user_message
    assert first.id in caught.value.user_message
    # The refused attempt made no PaymentIntent.
    assert [i.id for i in client.v1.payment_intents.list().data] == [first.id]


def test_a_declined_confirmation_still_uses_the_token_up(client):
    token = make_token(client, "pm_card_chargeDeclined", return_url=RETURN_URL)
    with pytest.raises(stripe.CardError) as caught:
        pay(client, token.id)
    intent_id = caught.value.error.payment_intent.id
    assert client.v1.confirmation_tokens.retrieve(token.id).payment_intent == intent_id
    with pytest.raises(stripe.InvalidRequestError, match="already been used"):
        client.v1.payment_intents.confirm(
            intent_id, params={"confirmation_token": token.id, "return_url": RETURN_URL}
        )
    again = make_token(client, return_url=RETURN_URL)
    paid = client.v1.payment_intents.confirm(intent_id, params={"confirmation_token": again.id})
    assert paid.status == "succeeded"


def test_an_unknown_token_is_a_400_on_its_parameter(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, "ctoken_nope", return_url=RETURN_URL)
    assert caught.value.http_status == 400
    assert (caught.value.code, caught.value.param) == ("resource_missing", "confirmation_token")
    assert caught.value.user_message == "No such confirmationtoken: 'ctoken_nope'"


def test_a_token_expires_after_12_hours(devstripe, client):
    token = make_token(client, return_url=RETURN_URL)
    devstripe.advance_clock(12 * 60 * 60 - 5)
    fresh_enough = make_token(client, return_url=RETURN_URL)
    assert pay(client, token.id).status == "succeeded"  # 5 seconds to spare

    devstripe.advance_clock(12 * 60 * 60 - 5)  # fresh_enough is now 12 h - 5 s old
    assert pay(client, fresh_enough.id).status == "succeeded"
    late = make_token(client, return_url=RETURN_URL)
    devstripe.advance_clock(12 * 60 * 60)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, late.id)
    assert caught.value.http_status == 400
    assert caught.value.param == "confirmation_token"
    assert "has expired" in caught.value.user_message
    assert client.v1.confirmation_tokens.retrieve(late.id).payment_intent is None


def test_a_reset_puts_the_clock_back(devstripe):
    devstripe.advance_clock(3600)
    assert devstripe.clock()["offset_seconds"] == 3600
    devstripe.reset()
    assert devstripe.clock()["offset_seconds"] == 0


def test_parameters_sent_with_the_confirmation_win_over_the_token(client):
    token = make_token(client, "pm_card_chargeDeclined", return_url="https://token.test/back")
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "confirm": True,
            "confirmation_token": token.id,
            "payment_method": "pm_card_authenticationRequired",
            "return_url": "https://shop.test/order/7",
        }
    )
    # The card sent (3-D Secure), not the token's declining one; the return_url sent.
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.return_url == "https://shop.test/order/7"
    assert client.v1.confirmation_tokens.retrieve(token.id).payment_intent == intent.id


def test_the_tokens_return_url_satisfies_the_return_url_rule(client):
    without = make_token(client)
    with pytest.raises(stripe.InvalidRequestError, match="A `return_url` must be specified"):
        pay(client, without.id)
    # Nothing happened: the token is still unused.
    assert client.v1.confirmation_tokens.retrieve(without.id).payment_intent is None
    assert client.v1.payment_intents.list().data == []
    assert pay(client, without.id, return_url=RETURN_URL).status == "succeeded"
    with_url = make_token(client, return_url=RETURN_URL)
    assert pay(client, with_url.id).status == "succeeded"
    no_redirects = make_token(client)
    assert (
        pay(
            client,
            no_redirects.id,
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
        ).status
        == "succeeded"
    )


def test_use_stripe_sdk_keeps_3d_secure_in_stripe_js(devstripe, client):
    token = make_token(client, "pm_card_authenticationRequired")
    intent = pay(client, token.id, return_url=RETURN_URL, use_stripe_sdk=True)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"
    assert intent.next_action.use_stripe_sdk.stripe_js.startswith(f"{devstripe.url}/3ds/")


def test_a_stripe_js_token_asks_for_stripe_js_unless_the_confirmation_says_otherwise(
    devstripe, client
):
    card = {"payment_method_data[card][number]": "4000002760003184"}
    token = stripe_js_token(devstripe, **card).json()
    assert pay(client, token["id"]).next_action.type == "use_stripe_sdk"
    token = stripe_js_token(devstripe, **card).json()
    assert pay(client, token["id"], use_stripe_sdk=False).next_action.type == "redirect_to_url"


def test_confirm_accepts_a_token_for_an_existing_payment_intent(client):
    intent = client.v1.payment_intents.create(params={"amount": 1999, "currency": "usd"})
    token = make_token(client, return_url=RETURN_URL)
    paid = client.v1.payment_intents.confirm(
        intent.id, params={"confirmation_token": token.id, "use_stripe_sdk": True}
    )
    assert (paid.status, paid.amount_received) == ("succeeded", 1999)
    assert client.v1.confirmation_tokens.retrieve(token.id).payment_intent == intent.id


def test_a_token_needs_confirm_true(client):
    token = make_token(client, return_url=RETURN_URL)
    with pytest.raises(stripe.InvalidRequestError, match="can only be used when `confirm`"):
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "confirmation_token": token.id}
        )


def test_an_idempotent_replay_does_not_spend_the_token_twice(client):
    token = make_token(client, return_url=RETURN_URL)
    params = {
        "amount": 2500,
        "currency": "usd",
        "confirm": True,
        "confirmation_token": token.id,
    }
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-1"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-1"})
    assert (again.id, again.status) == (first.id, "succeeded")
    assert len(client.v1.payment_intents.list().data) == 1
