"""PaymentIntents, the test 3-D Secure step, and what a publishable key may do."""

import re

import pytest
import requests
import stripe

from .conftest import sdk_client

CARD_ONLY = {"payment_method_types": ["card"]}
NO_REDIRECTS = {"automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}}


def create(client, payment_method="pm_card_visa", amount=2500, confirm=True, **params):
    params = {"amount": amount, "currency": "usd", "payment_method": payment_method, **params}
    if confirm:
        params["confirm"] = True
    return client.v1.payment_intents.create(params=params)


def authenticate(devstripe, intent, outcome="complete", **form):
    """Press a button on devstripe's test 3-D Secure page."""
    return requests.post(
        f"{devstripe.url}/3ds/{intent.id}/{outcome}",
        data={"client_secret": intent.client_secret, **form},
        timeout=10,
    )


def event_types(client):
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_create_and_confirm_succeeds_with_a_charge(client):
    intent = create(client, metadata={"order_id": "7"}, description="Order 7", **CARD_ONLY)
    assert intent.id.startswith("pi_") and intent.object == "payment_intent"
    assert re.fullmatch(rf"{intent.id}_secret_\w+", intent.client_secret)
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 2500, 2500)
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    assert intent.payment_method_types == ["card"]
    assert intent.automatic_payment_methods is None
    assert (intent.confirmation_method, intent.capture_method) == ("automatic", "automatic_async")
    assert intent.last_payment_error is None and intent.next_action is None
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.payment_intent, charge.amount) == ("succeeded", intent.id, 2500)
    assert charge.payment_method == intent.payment_method
    assert charge.metadata.to_dict() == {"order_id": "7"}
    assert [c.id for c in client.v1.charges.list(params={"payment_intent": intent.id}).data] == [
        charge.id
    ]
    assert event_types(client) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_automatic_payment_methods_are_the_default(client):
    intent = create(client, confirm=False)
    assert intent.status == "requires_confirmation"
    assert intent.automatic_payment_methods.to_dict() == {
        "allow_redirects": "always",
        "enabled": True,
    }


RETURN_URL_MESSAGE = (
    "A `return_url` must be specified because this Payment Intent is configured to "
    "automatically accept the payment methods enabled in the Dashboard, some of which may "
    "require a full page redirect to succeed. If you do not want to accept redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment Intents."
)


def test_confirming_without_a_return_url_is_refused_when_redirects_are_allowed(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(client)
    assert caught.value.http_status == 400
    assert caught.value.user_message == RETURN_URL_MESSAGE
    assert client.v1.payment_intents.list().data == []

    intent = create(client, confirm=False)
    with pytest.raises(stripe.InvalidRequestError, match="A `return_url` must be specified"):
        client.v1.payment_intents.confirm(intent.id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_confirmation"


def test_a_return_url_or_no_redirects_or_card_only_may_confirm(client):
    assert create(client, return_url="https://shop.test/done").status == "succeeded"
    assert create(client, **NO_REDIRECTS).status == "succeeded"
    assert create(client, **CARD_ONLY).status == "succeeded"


def test_payment_method_types_and_automatic_payment_methods_exclude_each_other(client):
    with pytest.raises(stripe.InvalidRequestError, match="only specify one of these"):
        create(client, confirm=False, **CARD_ONLY, automatic_payment_methods={"enabled": True})


def test_a_decline_is_a_402_with_the_payment_intent_then_another_card_succeeds(client):
    with pytest.raises(stripe.CardError) as caught:
        create(client, "pm_card_chargeDeclinedInsufficientFunds", **CARD_ONLY)
    error = caught.value.error
    assert caught.value.http_status == 402
    assert (error.code, error.decline_code) == ("card_declined", "insufficient_funds")
    failed = error.payment_intent
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    assert failed.last_payment_error.code == "card_declined"
    assert failed.last_payment_error.decline_code == "insufficient_funds"
    assert failed.last_payment_error.payment_method.id.startswith("pm_")
    assert error.charge == failed.latest_charge
    assert client.v1.charges.retrieve(error.charge).status == "failed"

    retried = client.v1.payment_intents.confirm(
        failed.id, params={"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded"
    assert retried.last_payment_error is None
    listed = client.v1.charges.list(params={"payment_intent": failed.id}).data
    assert [c.status for c in listed] == ["succeeded", "failed"]
    assert event_types(client) == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_confirming_a_succeeded_payment_intent_is_an_unexpected_state(client):
    intent = create(client, **CARD_ONLY)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert caught.value.http_status == 400
    assert caught.value.code == "payment_intent_unexpected_state"
    assert caught.value.error.payment_intent.status == "succeeded"
    assert len(client.v1.charges.list().data) == 1


def test_confirming_without_any_payment_method_is_refused(client):
    intent = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    assert intent.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError, match="missing a payment method"):
        client.v1.payment_intents.confirm(intent.id, params={"return_url": "https://shop.test"})


@pytest.mark.parametrize(
    "payment_method", ["pm_card_authenticationRequired", "pm_card_threeDSecure2Required"]
)
def test_a_3d_secure_card_requires_action(devstripe, client, payment_method):
    intent = create(client, payment_method, **CARD_ONLY)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"
    page = intent.next_action.use_stripe_sdk.stripe_js
    assert page.startswith(f"{devstripe.url}/3ds/{intent.id}?client_secret=")
    assert intent.latest_charge is None
    assert client.v1.charges.list().data == []
    assert event_types(client)[-1] == "payment_intent.requires_action"


def test_the_3d_secure_page_is_labelled_and_checks_the_client_secret(devstripe, client):
    intent = create(client, "pm_card_authenticationRequired", **CARD_ONLY)
    page = requests.get(intent.next_action.use_stripe_sdk.stripe_js, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "devstripe — test 3-D Secure page (not your bank)" in page.text
    assert 'id="devstripe-3ds-complete"' in page.text and 'id="devstripe-3ds-fail"' in page.text
    wrong = requests.get(f"{devstripe.url}/3ds/{intent.id}?client_secret=nope", timeout=10)
    assert wrong.status_code == 404
    forged = authenticate(devstripe, intent, client_secret=intent.id + "_secret_forged")
    assert forged.status_code == 404
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


def test_completing_3d_secure_succeeds_with_an_authenticated_charge(devstripe, client):
    intent = create(client, "pm_card_threeDSecure2Required", **CARD_ONLY)
    answer = authenticate(devstripe, intent)
    assert answer.status_code == 200
    assert "devstripe-3ds-result" in answer.text
    done = client.v1.payment_intents.retrieve(intent.id)
    assert (done.status, done.amount_received, done.next_action) == ("succeeded", 2500, None)
    charge = client.v1.charges.retrieve(done.latest_charge)
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"
    assert event_types(client)[-2:] == ["charge.succeeded", "payment_intent.succeeded"]
    assert authenticate(devstripe, intent).status_code == 400  # nothing left to authenticate


def test_failing_3d_secure_asks_for_another_payment_method(devstripe, client):
    intent = create(client, "pm_card_authenticationRequired", **CARD_ONLY)
    authenticate(devstripe, intent, "fail")
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None and failed.latest_charge is None
    error = failed.last_payment_error
    assert (error.type, error.code) == (
        "invalid_request_error",
        "payment_intent_authentication_failure",
    )
    assert error.message == (
        "The provided PaymentMethod has failed authentication. You can provide "
        "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent "
        "again."
    )
    assert client.v1.charges.list().data == []
    assert event_types(client)[-1] == "payment_intent.payment_failed"
    again = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert again.status == "succeeded"


def test_with_a_return_url_the_next_action_is_a_redirect_back_to_it(devstripe, client):
    intent = create(client, "pm_card_authenticationRequired", return_url="https://shop.test/paid")
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.return_url == "https://shop.test/paid"
    assert intent.next_action.redirect_to_url.url.startswith(f"{devstripe.url}/3ds/{intent.id}?")
    page = authenticate(devstripe, intent, return_url="https://shop.test/paid")
    assert (
        f"https://shop.test/paid?payment_intent={intent.id}&payment_intent_client_secret="
        in page.text
    )
    assert "redirect_status=succeeded" in page.text


def test_the_testing_helper_authenticates_and_lists_events(devstripe, client):
    intent = create(client, "pm_card_authenticationRequired", **CARD_ONLY)
    assert devstripe.authenticate(intent.id, succeed=True)["status"] == "succeeded"
    [succeeded] = devstripe.events(type="payment_intent.succeeded")
    assert succeeded["data"]["object"]["id"] == intent.id
    assert [e["type"] for e in devstripe.events(type="payment_intent.*")] == [
        "payment_intent.succeeded",
        "payment_intent.requires_action",
        "payment_intent.created",
    ]
    failing = create(client, "pm_card_authenticationRequired", **CARD_ONLY)
    assert devstripe.authenticate(failing.id, succeed=False)["status"] == (
        "requires_payment_method"
    )


def test_manual_confirmation_returns_to_the_server_after_3d_secure(devstripe, client):
    intent = create(
        client, "pm_card_authenticationRequired", confirmation_method="manual", **CARD_ONLY
    )
    authenticate(devstripe, intent)
    waiting = client.v1.payment_intents.retrieve(intent.id)
    assert waiting.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"


def test_off_session_a_3d_secure_card_declines(client):
    with pytest.raises(stripe.CardError) as caught:
        create(client, "pm_card_authenticationRequired", off_session=True, **CARD_ONLY)
    assert caught.value.error.decline_code == "authentication_required"


def test_cancel_then_nothing_more(client):
    intent = create(client, confirm=False)
    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        client.v1.payment_intents.cancel(intent.id)
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        client.v1.payment_intents.confirm(intent.id, params={"return_url": "https://x.test"})
    assert event_types(client)[-1] == "payment_intent.canceled"


def test_search_payment_intents_by_metadata(client):
    wanted = create(client, metadata={"order_id": "9"}, **CARD_ONLY)
    create(client, metadata={"order_id": "10"}, **CARD_ONLY)
    found = client.v1.payment_intents.search(params={"query": "metadata['order_id']:'9'"})
    assert [i.id for i in found.data] == [wanted.id]


def test_refund_a_payment_intent(client):
    intent = create(client, **CARD_ONLY)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    assert (refund.charge, refund.payment_intent, refund.amount) == (
        intent.latest_charge,
        intent.id,
        500,
    )


def test_a_missing_payment_intent_is_a_404(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.retrieve("pi_nope")
    assert caught.value.http_status == 404
    assert caught.value.user_message == "No such payment_intent: 'pi_nope'"


# -- publishable keys ------------------------------------------------------------------


@pytest.fixture
def public(devstripe):
    return sdk_client(devstripe, key=devstripe.publishable_key)


def test_a_publishable_key_creates_tokens_and_payment_methods(public):
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    assert public.v1.tokens.create(params={"card": card}).id.startswith("tok_")
    method = public.v1.payment_methods.create(params={"type": "card", "card": card})
    assert (method.type, method.card.brand, method.card.last4) == ("card", "visa", "4242")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.v1.charges.create(
            params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
        ),
        lambda c: c.v1.charges.list(),
        lambda c: c.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}),
        lambda c: c.v1.refunds.create(params={"charge": "ch_x"}),
        lambda c: c.v1.events.list(),
    ],
)
def test_a_publishable_key_may_do_nothing_else(public, call):
    with pytest.raises(stripe.AuthenticationError) as caught:
        call(public)
    assert caught.value.http_status == 401
    assert caught.value.error.code == "secret_key_required"
    assert caught.value.user_message.startswith(
        "This API call cannot be made with a publishable API key. Please use a secret API key."
    )


def test_a_publishable_key_retrieves_a_payment_intent_only_with_its_client_secret(client, public):
    intent = create(client, "pm_card_authenticationRequired", metadata={"order": "1"}, **CARD_ONLY)
    seen = public.v1.payment_intents.retrieve(
        intent.id, params={"client_secret": intent.client_secret}
    )
    assert (seen.id, seen.status, seen.client_secret) == (
        intent.id,
        "requires_action",
        intent.client_secret,
    )
    assert seen.next_action.type == "use_stripe_sdk"
    assert "metadata" not in seen  # a publishable key sees a subset
    with pytest.raises(stripe.InvalidRequestError, match="client_secret"):
        public.v1.payment_intents.retrieve(intent.id)
    with pytest.raises(stripe.InvalidRequestError, match="does not match"):
        public.v1.payment_intents.retrieve(
            intent.id, params={"client_secret": intent.id + "_secret_wrong"}
        )
