"""orders.payments in the shop's words, without Stripe: the SDK's errors and Stripe's objects.

`translate` is what `_call` raises for each exception the official SDK raises; the
exceptions here are real SDK instances, built as the SDK builds them from Stripe's
answers. `parse_payment` reads charges and PaymentIntents (small dicts in Stripe's
shape). No devstripe, no database: these run in milliseconds.
"""

import logging

import pytest
import stripe

from orders.payments import (
    CANCELED_MESSAGE,
    SHOPPER_MESSAGES,
    UNAVAILABLE_MESSAGE,
    CardDeclined,
    Outcome,
    PaymentMisconfigured,
    PaymentRejected,
    PaymentUnavailable,
    parse_payment,
    translate,
)

AUTHENTICATION_FAILED = SHOPPER_MESSAGES["payment_intent_authentication_failure"]
NOT_CONFIRMED_YET = "The payment could not be confirmed yet."
SECRET_KEY = "sk_test_not_a_real_key_4eC39HqLyjWDarjtT1zdp7dc"


def payment_intent(status, **fields):
    """A PaymentIntent as Stripe returns it, with the metadata the shop writes."""
    return {
        "object": "payment_intent",
        "id": "pi_123",
        "status": status,
        "amount": 1250,
        "currency": "usd",
        "metadata": {"order_id": "42", "idempotency_key": "key-of-the-order"},
        "latest_charge": None,
        "payment_method": None,
        "last_payment_error": None,
        "client_secret": "pi_123_secret_abc",
        **fields,
    }


def charge(status, **fields):
    return {
        "object": "charge",
        "id": "ch_123",
        "status": status,
        "amount": 1250,
        "currency": "USD",
        "metadata": {"order_id": "42", "idempotency_key": "key-of-attempt-1"},
        "payment_intent": None,
        "payment_method": "pm_123",
        "refunded": False,
        "failure_code": None,
        "failure_message": None,
        **fields,
    }


def card_error(message="Your card was declined.", code="card_declined", intent=None):
    """stripe.CardError as the SDK raises it for a 402 answer."""
    error = {"type": "card_error", "code": code, "message": message, "param": ""}
    if intent is not None:
        error["payment_intent"] = intent
    return stripe.CardError(
        message, "", code, http_status=402, json_body={"error": error}, headers={}
    )


def invalid_request(message, code=None, intent=None):
    error = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    if intent is not None:
        error["payment_intent"] = intent
    return stripe.InvalidRequestError(
        message, "payment_method", code=code, http_status=400, json_body={"error": error}
    )


# --- translate: the SDK's exceptions in the shop's words ---------------------------------

DECLINED_INTENT = payment_intent(
    "requires_payment_method",
    last_payment_error={
        "type": "card_error",
        "code": "card_declined",
        "message": "Your card was declined.",
        "payment_method": {"id": "pm_declined", "object": "payment_method"},
    },
)


@pytest.mark.parametrize(
    ("error", "expected_type", "expected_message", "expected_code"),
    [
        pytest.param(
            card_error("Your card has insufficient funds.", "card_declined"),
            CardDeclined,
            "Your card has insufficient funds.",
            "card_declined",
            id="card-error",
        ),
        pytest.param(
            stripe.CardError(None, None, None),
            CardDeclined,
            "Your card was declined.",
            "",
            id="card-error-without-message-or-code",
        ),
        pytest.param(
            invalid_request("No such PaymentMethod: 'pm_nope'", code="resource_missing"),
            PaymentRejected,
            "No such PaymentMethod: 'pm_nope'",
            "resource_missing",
            id="invalid-request",
        ),
        pytest.param(
            stripe.InvalidRequestError(None, None),
            PaymentRejected,
            "The payment request was refused.",
            "",
            id="invalid-request-without-message-or-code",
        ),
        pytest.param(
            stripe.AuthenticationError("Invalid API Key provided: sk_test_****7dc"),
            PaymentMisconfigured,
            "Payments are not available right now.",
            "",
            id="authentication",
        ),
        pytest.param(
            stripe.PermissionError("The provided key does not have access to this resource."),
            PaymentMisconfigured,
            "Payments are not available right now.",
            "",
            id="permission",
        ),
        pytest.param(
            stripe.IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters",
                code="idempotency_key_in_use",
            ),
            PaymentUnavailable,
            NOT_CONFIRMED_YET,
            "",
            id="idempotency",
        ),
        pytest.param(
            stripe.APIConnectionError("Could not connect to Stripe", should_retry=True),
            PaymentUnavailable,
            UNAVAILABLE_MESSAGE,
            "",
            id="connection",
        ),
        pytest.param(
            stripe.RateLimitError("Too many requests", http_status=429),
            PaymentUnavailable,
            UNAVAILABLE_MESSAGE,
            "",
            id="rate-limit",
        ),
        pytest.param(
            stripe.APIError("Something went wrong on Stripe's end.", http_status=500),
            PaymentUnavailable,
            UNAVAILABLE_MESSAGE,
            "",
            id="api-error",
        ),
        pytest.param(
            stripe.StripeError("Something the SDK has no class for"),
            PaymentUnavailable,
            NOT_CONFIRMED_YET,
            "",
            id="any-other-stripe-error",
        ),
        pytest.param(
            stripe.SignatureVerificationError("No signatures found", "t=1,v1=x"),
            PaymentUnavailable,
            NOT_CONFIRMED_YET,
            "",
            id="a-subclass-the-shop-does-not-name",
        ),
    ],
)
def test_each_sdk_error_becomes_one_of_the_shops(
    error, expected_type, expected_message, expected_code
):
    translated = translate(error)

    assert type(translated) is expected_type
    assert (translated.message, str(translated)) == (expected_message, expected_message)
    assert translated.code == expected_code
    assert translated.payment is None


def test_the_shopper_reads_the_unavailable_sentence():
    assert UNAVAILABLE_MESSAGE == (
        "The payment service is unavailable; the order is kept and will be settled."
    )


def test_a_decline_carries_the_payment_intent_stripe_sent_with_it():
    translated = translate(card_error(intent=DECLINED_INTENT))

    assert isinstance(translated, CardDeclined)
    assert (translated.message, translated.code) == ("Your card was declined.", "card_declined")
    payment = translated.payment
    assert (payment.object_type, payment.id, payment.outcome) == (
        "payment_intent",
        "pi_123",
        Outcome.DECLINED,
    )
    assert (payment.order_id, payment.idempotency_key) == (42, "key-of-the-order")
    assert payment.payment_method == "pm_declined"
    assert (payment.failure_code, payment.failure_message) == (
        "card_declined",
        "Your card was declined.",
    )


def test_a_failed_authentication_reads_in_the_shoppers_words_on_the_payment_intent():
    stripe_wording = (
        "We are unable to authenticate your payment method. Please choose a different "
        "payment method and try again."
    )
    intent = payment_intent(
        "requires_payment_method",
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication.",
        },
    )
    translated = translate(
        card_error(stripe_wording, "payment_intent_authentication_failure", intent=intent)
    )

    # The exception keeps Stripe's wording; the order takes the PaymentIntent's.
    assert translated.message == stripe_wording
    assert translated.payment.failure_message == AUTHENTICATION_FAILED


def test_a_refused_request_that_came_with_a_paid_payment_intent_says_it_succeeded():
    intent = payment_intent("succeeded", latest_charge="ch_paid", payment_method="pm_visa")
    translated = translate(
        invalid_request(
            "This PaymentIntent's payment_method could not be updated because it has a "
            "status of succeeded.",
            code="payment_intent_unexpected_state",
            intent=intent,
        )
    )

    assert isinstance(translated, PaymentRejected)
    assert translated.code == "payment_intent_unexpected_state"
    assert translated.payment.outcome == Outcome.SUCCEEDED
    assert (translated.payment.charge_id, translated.payment.order_id) == ("ch_paid", 42)


def test_a_refused_request_with_a_charge_id_or_a_bare_body_carries_no_payment():
    assert translate(invalid_request("No such token", intent="pi_123")).payment is None
    assert translate(stripe.InvalidRequestError("Bad", None, json_body=None)).payment is None
    assert translate(stripe.InvalidRequestError("Bad", None, json_body={})).payment is None
    assert (
        translate(stripe.CardError("Declined", None, None, json_body={"error": None})).payment
        is None
    )


@pytest.mark.parametrize(
    "error",
    [
        stripe.AuthenticationError(f"Invalid API Key provided: {SECRET_KEY}"),
        stripe.PermissionError(f"The provided key '{SECRET_KEY}' does not have access."),
    ],
    ids=["authentication", "permission"],
)
def test_a_refused_key_is_logged_critical_by_its_class_never_the_key(error, caplog):
    with caplog.at_level(logging.INFO, logger="orders.payments"):
        translate(error)

    [record] = caplog.records
    assert (record.name, record.levelno) == ("orders.payments", logging.CRITICAL)
    assert record.getMessage() == "Stripe refused our API key"
    assert record.error_class == type(error).__name__
    assert SECRET_KEY not in caplog.text
    assert "sk_test" not in caplog.text


@pytest.mark.parametrize(
    ("error", "level", "line"),
    [
        (card_error(), None, None),
        (invalid_request("No such PaymentMethod"), None, None),
        (
            stripe.IdempotencyError("Keys for idempotent requests..."),
            logging.ERROR,
            ("Stripe refused a reused idempotency key", None),
        ),
        (
            stripe.APIConnectionError("Could not connect"),
            logging.WARNING,
            ("Stripe unavailable", "APIConnectionError"),
        ),
        (
            stripe.RateLimitError("Slow down"),
            logging.WARNING,
            ("Stripe unavailable", "RateLimitError"),
        ),
        (stripe.APIError("Boom"), logging.WARNING, ("Stripe unavailable", "APIError")),
        (stripe.StripeError("Odd"), logging.ERROR, ("Unexpected Stripe error", "StripeError")),
    ],
    ids=["card", "invalid", "idempotency", "connection", "rate-limit", "api", "other"],
)
def test_what_each_error_logs(error, level, line, caplog):
    with caplog.at_level(logging.INFO, logger="orders.payments"):
        translate(error)

    logged = [
        (record.levelno, (record.getMessage(), getattr(record, "error_class", None)))
        for record in caplog.records
    ]
    assert logged == ([] if level is None else [(level, line)])


# --- parse_payment: Stripe's objects in the shop's words ---------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("succeeded", Outcome.SUCCEEDED),
        ("failed", Outcome.DECLINED),
        ("pending", Outcome.PROCESSING),
        ("a_status_stripe_adds_later", Outcome.PROCESSING),
        (None, Outcome.PROCESSING),
    ],
)
def test_a_charges_status(status, outcome):
    assert parse_payment(charge(status)).outcome == outcome


def test_a_succeeded_charge():
    payment = parse_payment(charge("succeeded", payment_intent={"id": "pi_9", "object": "x"}))

    assert payment.object_type == "charge" and not payment.is_payment_intent
    assert (payment.id, payment.charge_id, payment.payment_intent_id) == (
        "ch_123",
        "ch_123",
        "pi_9",
    )
    assert (payment.amount, payment.currency) == (1250, "usd")  # lower-cased
    assert (payment.order_id, payment.idempotency_key) == (42, "key-of-attempt-1")
    assert (payment.payment_method, payment.refunded) == ("pm_123", False)
    assert (payment.failure_code, payment.failure_message, payment.client_secret) == ("", "", "")


def test_a_refunded_charge_is_a_succeeded_one_marked_refunded():
    payment = parse_payment(charge("succeeded", refunded=True))
    assert (payment.outcome, payment.refunded) == (Outcome.SUCCEEDED, True)
    # Only a real True counts.
    assert parse_payment(charge("succeeded", refunded="true")).refunded is False


def test_a_failed_charge_says_why():
    payment = parse_payment(
        charge("failed", failure_code="card_declined", failure_message="Your card was declined.")
    )
    assert (payment.failure_code, payment.failure_message) == (
        "card_declined",
        "Your card was declined.",
    )
    assert parse_payment(charge("failed")).failure_message == "The payment failed."
    # A failure message only for a failure.
    pending = parse_payment(charge("pending", failure_message="not yet"))
    assert pending.failure_message == ""


def test_a_charges_failure_in_shoppers_words_and_cut_to_the_columns():
    shopper = parse_payment(
        charge(
            "failed",
            failure_code="payment_intent_authentication_failure",
            failure_message="The provided PaymentMethod has failed authentication.",
        )
    )
    assert shopper.failure_message == AUTHENTICATION_FAILED
    long = parse_payment(charge("failed", failure_code="c" * 150, failure_message="m" * 600))
    assert (len(long.failure_code), len(long.failure_message)) == (100, 500)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("succeeded", Outcome.SUCCEEDED),
        ("requires_action", Outcome.REQUIRES_ACTION),
        ("requires_source_action", Outcome.REQUIRES_ACTION),
        ("processing", Outcome.PROCESSING),
        ("canceled", Outcome.CANCELED),
        ("requires_payment_method", Outcome.OPEN),
        ("requires_source", Outcome.OPEN),
        ("requires_confirmation", Outcome.OPEN),
        ("requires_capture", Outcome.OPEN),
        (None, Outcome.OPEN),
    ],
)
def test_a_payment_intents_status_without_a_payment_error(status, outcome):
    payment = parse_payment(payment_intent(status))
    assert payment.outcome == outcome
    assert payment.failure_message == ("" if outcome != Outcome.CANCELED else CANCELED_MESSAGE)


def test_a_succeeded_payment_intent():
    payment = parse_payment(
        payment_intent(
            "succeeded",
            latest_charge={"id": "ch_9", "object": "charge"},
            payment_method="pm_visa",
        )
    )
    assert payment.is_payment_intent
    assert (payment.id, payment.payment_intent_id, payment.charge_id) == (
        "pi_123",
        "pi_123",
        "ch_9",
    )
    assert (payment.payment_method, payment.amount, payment.currency) == ("pm_visa", 1250, "usd")
    assert (payment.order_id, payment.idempotency_key) == (42, "key-of-the-order")
    # The client secret leaves the server only for the bank's step.
    assert payment.client_secret == ""
    assert (payment.failure_code, payment.failure_message) == ("", "")


def test_a_payment_intent_waiting_for_the_bank_carries_its_client_secret():
    payment = parse_payment(payment_intent("requires_action", client_secret="pi_123_secret_x"))
    assert (payment.outcome, payment.client_secret) == (Outcome.REQUIRES_ACTION, "pi_123_secret_x")
    assert parse_payment(payment_intent("processing")).client_secret == ""


def test_a_canceled_payment_intent_can_never_be_paid():
    payment = parse_payment(payment_intent("canceled"))
    assert (payment.outcome, payment.failure_code, payment.failure_message) == (
        Outcome.CANCELED,
        "canceled",
        CANCELED_MESSAGE,
    )


def test_a_payment_intent_back_to_a_payment_method_after_a_decline_is_declined():
    payment = parse_payment(DECLINED_INTENT)
    assert payment.outcome == Outcome.DECLINED
    assert (payment.failure_code, payment.failure_message) == (
        "card_declined",
        "Your card was declined.",
    )
    # The declined card is the error's, when the PaymentIntent no longer names one.
    assert payment.payment_method == "pm_declined"


def test_a_failed_authentication_reads_in_the_shoppers_words():
    payment = parse_payment(
        payment_intent(
            "requires_payment_method",
            last_payment_error={
                "code": "payment_intent_authentication_failure",
                "message": "The provided PaymentMethod has failed authentication.",
            },
        )
    )
    assert payment.outcome == Outcome.DECLINED
    assert payment.failure_message == AUTHENTICATION_FAILED
    assert AUTHENTICATION_FAILED == (
        "We are unable to authenticate your payment method. "
        "Please choose a different payment method and try again."
    )


def test_a_payment_error_without_a_message_still_says_the_payment_failed():
    payment = parse_payment(payment_intent("requires_payment_method", last_payment_error={}))
    assert payment.outcome == Outcome.OPEN  # an empty error is no error
    payment = parse_payment(
        payment_intent("requires_payment_method", last_payment_error={"code": "expired_card"})
    )
    assert (payment.outcome, payment.failure_message) == (Outcome.DECLINED, "The payment failed.")


@pytest.mark.parametrize(
    ("raw", "order_id"),
    [
        ("42", 42),
        ("007", 7),
        ("999999999999999999", 999999999999999999),  # 18 digits
        ("9999999999999999999", None),  # 19 digits: more than a bigint holds
        ("1" * 400, None),
        ("", None),
        ("-1", None),
        ("+1", None),
        (" 42", None),
        ("4.2", None),
        ("42abc", None),
        ("٤٢", None),  # digits, but not ASCII ones
        (42, None),  # Stripe's metadata values are strings
        (None, None),
    ],
)
def test_the_order_id_in_the_metadata(raw, order_id):
    for parse in (payment_intent("succeeded"), charge("succeeded")):
        parse["metadata"] = {"order_id": raw}
        assert parse_payment(parse).order_id == order_id


def test_metadata_that_is_not_a_dict_names_no_order_and_no_key():
    payment = parse_payment(payment_intent("succeeded", metadata="order_id=42"))
    assert (payment.order_id, payment.idempotency_key) == (None, "")


@pytest.mark.parametrize("amount", [None, "1250", 12.5, True])
def test_an_amount_that_is_not_an_integer_is_none(amount):
    assert parse_payment(charge("succeeded", amount=amount)).amount is None


@pytest.mark.parametrize(
    "data",
    [
        None,
        "pi_123",
        42,
        ["payment_intent"],
        {},
        {"object": "refund", "id": "re_1", "status": "succeeded"},
        {"object": "customer", "id": "cus_1"},
        {"id": "pi_123", "status": "succeeded"},  # no object
    ],
    ids=["none", "an-id", "a-number", "a-list", "empty", "refund", "customer", "no-object"],
)
def test_anything_but_a_charge_or_a_payment_intent_is_none(data):
    assert parse_payment(data) is None
