"""ConfirmationTokens for tests, made at devstripe the way Stripe's test helper makes them
(`POST /v1/test_helpers/confirmation_tokens`), and the requests to pay with them."""

from tests.helpers import stripe_client
from tests.orders.attempt_helpers import ORDERS, idempotency

# Stripe's test bank account (ACH Direct Debit): routing number, and account numbers
# whose debit succeeds or fails (insufficient funds) after processing.
ROUTING_NUMBER = "110000000"
ACCOUNT_SUCCEEDS = "000123456789"
ACCOUNT_INSUFFICIENT_FUNDS = "000222222227"
INSUFFICIENT_FUNDS = "The customer's account has insufficient funds to cover this payment."


def card_token(devstripe, payment_method="pm_card_visa"):
    """A ConfirmationToken for a test card (a PaymentMethod alias such as pm_card_visa)."""
    token = stripe_client(devstripe).v1.test_helpers.confirmation_tokens.create(
        params={"payment_method": payment_method}
    )
    return token.id


def bank_account_token(devstripe, account_number=ACCOUNT_SUCCEEDS):
    """A ConfirmationToken for a US bank account debit: Stripe processes it, and it
    settles later (by its webhook)."""
    token = stripe_client(devstripe).v1.test_helpers.confirmation_tokens.create(
        params={
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": ROUTING_NUMBER,
                    "account_number": account_number,
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Sam Shopper", "email": "shopper@example.com"},
            }
        }
    )
    return token.id


def pay_with_token(client, order_id, confirmation_token, key=None):
    """POST /api/order/<id>/pay/ with a ConfirmationToken."""
    return client.post(
        f"{ORDERS}{order_id}/pay/",
        {"confirmation_token": confirmation_token},
        format="json",
        headers=idempotency(key),
    )


def confirmation_token_at(devstripe, token_id):
    """The ConfirmationToken as Stripe has it (its payment_intent once used)."""
    return stripe_client(devstripe).v1.confirmation_tokens.retrieve(token_id).to_dict()


def confirmations_of(devstripe, order):
    """The confirmation requests Stripe received for the order's PaymentIntent."""
    path = f"/v1/payment_intents/{order.stripe_payment_intent_id}/confirm"
    return devstripe.requests(path=path, method="POST")
