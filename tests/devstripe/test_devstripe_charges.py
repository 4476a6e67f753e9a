"""Tokens, charges and refunds through the official SDK, in Stripe's wire format."""

import time

import pytest
import requests
import stripe

NEXT_YEAR = time.gmtime().tm_year + 1


def card(number="4242424242424242", exp_month=12, exp_year=NEXT_YEAR, cvc="123"):
    return {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}


def charge(client, source="tok_visa", amount=1999, **params):
    return client.v1.charges.create(
        params={"amount": amount, "currency": "usd", "source": source, **params}
    )


# -- tokens -------------------------------------------------------------------------


def test_a_token_has_stripes_shape(client):
    token = client.v1.tokens.create(params={"card": card("5555555555554444", cvc="321")})
    assert token.id.startswith("tok_")
    assert token.object == "token"
    assert token.type == "card"
    assert token.used is False
    assert token.livemode is False
    assert token.card.id.startswith("card_")
    assert token.card.brand == "MasterCard"
    assert (token.card.last4, token.card.exp_month, token.card.exp_year) == (
        "4444",
        12,
        NEXT_YEAR,
    )
    assert token.card.funding == "credit"
    assert "number" not in token.card and "cvc" not in token.card
    assert client.v1.tokens.retrieve(token.id).id == token.id


@pytest.mark.parametrize(
    ("details", "code", "param", "message"),
    [
        (card("4242424242424241"), "incorrect_number", "number", "Your card number is incorrect."),
        (card("4242"), "invalid_number", "number", "Your card number is invalid."),
        (
            card(exp_year=2020),
            "invalid_expiry_year",
            "exp_year",
            "Your card's expiration year is invalid.",
        ),
        (
            card(exp_month=13),
            "invalid_expiry_month",
            "exp_month",
            "Your card's expiration month is invalid.",
        ),
        (card(cvc="12"), "invalid_cvc", "cvc", "Your card's security code is invalid."),
    ],
)
def test_bad_card_details_are_card_errors(client, details, code, param, message):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.tokens.create(params={"card": details})
    assert caught.value.http_status == 402
    assert (caught.value.code, caught.value.param, caught.value.user_message) == (
        code,
        param,
        message,
    )
    assert caught.value.error.type == "card_error"


def test_a_token_is_single_use(client):
    token = client.v1.tokens.create(params={"card": card()})
    charge(client, source=token.id)
    assert client.v1.tokens.retrieve(token.id).used is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        charge(client, source=token.id)
    assert caught.value.http_status == 400
    assert caught.value.code == "token_already_used"
    assert caught.value.user_message == f"You cannot use a Stripe token more than once: {token.id}."


def test_a_declined_charge_uses_up_its_token_too(client):
    token = client.v1.tokens.create(params={"card": card("4000000000000002")})
    with pytest.raises(stripe.CardError):
        charge(client, source=token.id)
    with pytest.raises(stripe.InvalidRequestError, match="more than once"):
        charge(client, source=token.id)


def test_magic_tokens_are_reusable(client):
    assert charge(client, "tok_mastercard").status == "succeeded"
    assert charge(client, "tok_mastercard").status == "succeeded"


def test_an_unknown_token_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        charge(client, source="tok_nope")
    assert caught.value.http_status == 400
    assert (caught.value.code, caught.value.param) == ("resource_missing", "source")
    assert caught.value.user_message == "No such token: 'tok_nope'"


# -- charges --------------------------------------------------------------------------


def test_a_successful_charge_has_stripes_shape(client):
    made = charge(
        client,
        "tok_visa",
        amount=4200,
        description="Order 42",
        metadata={"order_id": "42"},
    )
    assert made.id.startswith("ch_")
    assert made.object == "charge"
    assert (made.amount, made.amount_captured, made.amount_refunded) == (4200, 4200, 0)
    assert (made.status, made.paid, made.captured, made.refunded) == (
        "succeeded",
        True,
        True,
        False,
    )
    assert (made.currency, made.description, made.metadata.to_dict()) == (
        "usd",
        "Order 42",
        {"order_id": "42"},
    )
    assert made.failure_code is None and made.failure_message is None
    assert made.outcome.type == "authorized"
    assert made.outcome.network_status == "approved_by_network"
    assert made.payment_intent is None
    assert made.balance_transaction.startswith("txn_")
    assert made.source.object == "card" and made.source.last4 == "4242"
    assert made.payment_method == made.source.id
    details = made.payment_method_details
    assert details.type == "card"
    assert (details.card.brand, details.card.last4, details.card.network) == (
        "visa",
        "4242",
        "visa",
    )
    assert client.v1.charges.retrieve(made.id).to_dict() == made.to_dict()


@pytest.mark.parametrize(
    ("source", "code", "decline_code", "message"),
    [
        ("tok_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
        (
            "tok_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        ("tok_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
        (
            "tok_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
        ),
        ("tok_chargeDeclinedFraudulent", "card_declined", "fraudulent", "Your card was declined."),
        (
            "tok_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ],
)
def test_a_declined_charge_is_a_402_and_a_failed_charge(
    client, source, code, decline_code, message
):
    with pytest.raises(stripe.CardError) as caught:
        charge(client, source)
    error = caught.value
    assert error.http_status == 402
    assert (error.code, error.error.decline_code, error.user_message) == (
        code,
        decline_code,
        message,
    )
    assert error.error.type == "card_error"
    assert error.error.doc_url == "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
    failed = client.v1.charges.retrieve(error.error.charge)
    assert (failed.status, failed.paid, failed.captured) == ("failed", False, False)
    assert (failed.failure_code, failed.failure_message) == (code, message)
    assert failed.amount_captured == 0 and failed.balance_transaction is None


@pytest.mark.parametrize("number", ["4000000000000002", "4000000000009995", "4000000000000069"])
def test_test_card_numbers_decline_as_tokens_too(client, number):
    token = client.v1.tokens.create(params={"card": card(number)})
    with pytest.raises(stripe.CardError):
        charge(client, token.id)


@pytest.mark.parametrize("number", ["4000002760003184", "4000000000003220"])
def test_3d_secure_cards_decline_on_the_charges_api(client, number):
    token = client.v1.tokens.create(params={"card": card(number)})
    with pytest.raises(stripe.CardError) as caught:
        charge(client, token.id)
    assert caught.value.code == "authentication_required"
    assert caught.value.error.decline_code == "authentication_required"
    assert caught.value.user_message == (
        "Your card was declined. This transaction requires authentication."
    )


@pytest.mark.parametrize(
    ("params", "code", "param", "message"),
    [
        ({"amount": 49}, "amount_too_small", "amount", "Amount must be at least $0.50 usd"),
        (
            {"amount": 100_000_000},
            "amount_too_large",
            "amount",
            "Amount must be no more than $999,999.99",
        ),
        ({"amount": "12.5"}, "parameter_invalid_integer", "amount", "Invalid integer: 12.5"),
        ({"amount": None}, "parameter_missing", "amount", "Missing required param: amount."),
        ({"currency": None}, "parameter_missing", "currency", "Missing required param: currency."),
        ({"source": None}, None, None, "Must provide source or customer."),
    ],
)
def test_invalid_charge_parameters_are_400s(client, params, code, param, message):
    base = {"amount": 1000, "currency": "usd", "source": "tok_visa"}
    request = {k: v for k, v in {**base, **params}.items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.create(params=request)
    assert caught.value.http_status == 400
    assert (caught.value.code, caught.value.param, caught.value.user_message) == (
        code,
        param,
        message,
    )
    assert client.v1.charges.list().data == []


def test_an_unknown_currency_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.create(params={"amount": 1000, "currency": "xyz", "source": "tok_visa"})
    assert caught.value.param == "currency"


def test_a_missing_charge_is_a_404(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve("ch_x")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.user_message == "No such charge: 'ch_x'"


def test_charges_are_listed_newest_first_with_pagination(client):
    made = [charge(client, amount=1000 + i) for i in range(5)]
    page = client.v1.charges.list(params={"limit": 2})
    assert [c.id for c in page.data] == [made[4].id, made[3].id]
    assert page.has_more is True and page.url == "/v1/charges"
    everything = list(client.v1.charges.list(params={"limit": 2}).auto_paging_iter())
    assert [c.id for c in everything] == [c.id for c in reversed(made)]


def test_charges_search_by_metadata_and_status(client):
    paid = charge(client, metadata={"order_id": "42"})
    charge(client, metadata={"order_id": "43"})
    with pytest.raises(stripe.CardError):
        charge(client, "tok_chargeDeclined", metadata={"order_id": "42"})
    found = client.v1.charges.search(
        params={"query": "metadata['order_id']:'42' AND status:'succeeded'"}
    )
    assert found.object == "search_result"
    assert [c.id for c in found.data] == [paid.id]
    assert len(client.v1.charges.search(params={"query": "metadata['order_id']:'42'"}).data) == 2


def test_a_search_query_devstripe_does_not_understand_is_a_400(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.search(params={"query": "order_id=42"})
    assert caught.value.param == "query"


# -- refunds -------------------------------------------------------------------------


def test_a_full_refund_then_a_second_one_is_refused(client):
    paid = charge(client, amount=3000)
    refund = client.v1.refunds.create(params={"charge": paid.id, "reason": "requested_by_customer"})
    assert refund.id.startswith("re_")
    assert (refund.object, refund.status, refund.amount, refund.charge) == (
        "refund",
        "succeeded",
        3000,
        paid.id,
    )
    assert refund.reason == "requested_by_customer"
    after = client.v1.charges.retrieve(paid.id, params={"expand": ["refunds"]})
    assert (after.amount_refunded, after.refunded) == (3000, True)
    assert [r.id for r in after.refunds.data] == [refund.id]
    assert client.v1.refunds.retrieve(refund.id).id == refund.id

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": paid.id})
    assert caught.value.code == "charge_already_refunded"
    assert caught.value.user_message == f"Charge {paid.id} has already been refunded."


def test_partial_refunds_add_up_and_cannot_exceed_the_charge(client):
    paid = charge(client, amount=3000)
    client.v1.refunds.create(params={"charge": paid.id, "amount": 1000})
    partly = client.v1.charges.retrieve(paid.id)
    assert (partly.amount_refunded, partly.refunded) == (1000, False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": paid.id, "amount": 2500})
    assert caught.value.code == "amount_too_large"
    assert caught.value.user_message == (
        "Refund amount ($25.00) is greater than unrefunded amount on charge ($20.00)"
    )
    client.v1.refunds.create(params={"charge": paid.id, "amount": 2000})
    assert client.v1.charges.retrieve(paid.id).refunded is True


def test_refunds_need_a_charge_or_payment_intent(client):
    with pytest.raises(stripe.InvalidRequestError, match="payment_intent or charge"):
        client.v1.refunds.create(params={"amount": 100})


def test_a_failed_charge_cannot_be_refunded(client):
    with pytest.raises(stripe.CardError) as caught:
        charge(client, "tok_chargeDeclined")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"charge": caught.value.error.charge})
    assert refused.value.code == "charge_not_refundable"


def test_charges_do_not_carry_refunds_unless_expanded(client):
    # Since API version 2022-11-15, `refunds` is an expandable field of a charge.
    paid = charge(client)
    assert "refunds" not in paid
    assert "refunds" not in client.v1.charges.retrieve(paid.id)


def test_a_paid_charge_has_a_receipt_page_at_its_receipt_url(client):
    paid = charge(client, source="tok_visa", amount=1999)

    page = requests.get(paid.receipt_url, timeout=10)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "19.99 USD" in page.text
    assert "Visa - 4242" in page.text
    assert paid.id in page.text


def test_no_receipt_page_for_a_charge_that_does_not_exist(devstripe):
    page = requests.get(f"{devstripe.url}/receipts/payment/ch_unknown", timeout=10)
    assert page.status_code == 404
