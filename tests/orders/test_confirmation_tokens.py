"""Paying with a ConfirmationToken (the Payment Element, issue 14): the third way to pay.

The order's one PaymentIntent is created with automatic payment methods and confirmed
with the token, its attempt's return_url (the order's page) and use_stripe_sdk; a token
is single use and expires at Stripe, and whatever Stripe refuses leaves the order FAILED
and payable again, never pending with nothing to wait for.
"""

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from orders import payments
from orders.models import Order, PaymentAttempt
from tests.deploy.conftest import PRODUCTION_ENV_FILE, ROOT, clean_environment, read_env_file
from tests.helpers import payment_intents_at
from tests.orders.attempt_helpers import (
    MUG_AMOUNT,
    MUG_PRICE,
    ORDERS,
    HttpShopper,
    confirm,
    money_held_for,
    order_in,
    place,
    reconcile,
    while_stripe_fails,
)
from tests.orders.confirmation_token_helpers import (
    card_token,
    confirmation_token_at,
    confirmations_of,
    pay_with_token,
)

pytestmark = pytest.mark.django_db

THREE_D_SECURE = "pm_card_authenticationRequired"


@pytest.fixture
def mug(make_product):
    return make_product(name="Demo Mug", price=MUG_PRICE)


def test_a_confirmation_token_pays_the_order_through_its_one_payment_intent(
    shopper_api, mug, devstripe
):
    token = card_token(devstripe)

    response = place(shopper_api, mug, confirmation_token=token)

    assert response.status_code == 201, response.json()
    assert response.json()["order"]["status"] == "PAID"
    assert response.json()["order"]["payment_processing"] is False
    order = order_in(response)
    attempt = order.attempts.get()
    assert attempt.source_type == PaymentAttempt.SourceType.CONFIRMATION_TOKEN
    assert attempt.payment_source == token
    [intent] = payment_intents_at(devstripe, order)
    assert intent["id"] == order.stripe_payment_intent_id
    assert intent["amount"] == MUG_AMOUNT
    assert intent["automatic_payment_methods"]["enabled"] is True
    [creation] = devstripe.requests(path="/v1/payment_intents", method="POST")
    assert creation["params"]["automatic_payment_methods"] == {"enabled": "true"}
    assert "confirmation_token" not in creation["params"]  # the same creation every time
    [confirmation] = confirmations_of(devstripe, order)
    assert confirmation["params"] == {
        "confirmation_token": token,
        "return_url": f"http://testserver/?order={order.id}",
        "use_stripe_sdk": "true",
    }
    assert confirmation["idempotency_key"] == attempt.idempotency_key
    assert confirmation_token_at(devstripe, token)["payment_intent"] == intent["id"]
    assert money_held_for(devstripe, order) == MUG_AMOUNT


def test_a_declined_token_then_another_token_pays_the_same_order_and_payment_intent(
    shopper_api, mug, devstripe
):
    declined = place(
        shopper_api, mug, confirmation_token=card_token(devstripe, "pm_card_chargeDeclined")
    )
    assert declined.status_code == 402, declined.json()
    assert declined.json()["error"] == "Your card was declined."
    assert declined.json()["order"]["status"] == "FAILED"
    assert declined.json()["order"]["can_pay"] is True
    order = order_in(declined)

    again = pay_with_token(shopper_api, order.id, card_token(devstripe))

    assert again.status_code == 200, again.json()
    assert again.json()["order"]["status"] == "PAID"
    order.refresh_from_db()
    [intent] = payment_intents_at(devstripe, order)
    assert intent["id"] == order.stripe_payment_intent_id
    first, second = confirmations_of(devstripe, order)
    assert first["idempotency_key"] != second["idempotency_key"]
    assert first["params"]["confirmation_token"] != second["params"]["confirmation_token"]
    assert [a.status for a in order.attempts.order_by("number")] == ["failed", "succeeded"]
    assert money_held_for(devstripe, order) == order.amount


def test_a_three_d_secure_token_answers_202_for_stripe_js_and_confirm_settles_it(
    shopper_api, mug, devstripe
):
    response = place(shopper_api, mug, confirmation_token=card_token(devstripe, THREE_D_SECURE))

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["requires_action"] is True
    assert body["order"]["status"] == "PENDING"
    assert body["order"]["payment_processing"] is False
    order = order_in(response)
    [intent] = payment_intents_at(devstripe, order)
    assert body["client_secret"] == intent["client_secret"]
    # Stripe.js's own modal (handleNextAction), not a redirect away from the page.
    assert intent["next_action"]["type"] == "use_stripe_sdk"

    devstripe.authenticate(intent["id"])
    settled = confirm(shopper_api, order.id)

    assert settled.status_code == 200, settled.json()
    assert settled.json()["order"]["status"] == "PAID"
    assert money_held_for(devstripe, order) == order.amount


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "tok_visa", "confirmation_token": "ctoken_1"}, "confirmation_token"),
        ({"payment_method": "pm_card_visa", "confirmation_token": "ctoken_1"}, "payment_method"),
        (
            {
                "token": "tok_visa",
                "payment_method": "pm_card_visa",
                "confirmation_token": "ctoken_1",
            },
            "token",
        ),
        ({"confirmation_token": ""}, "confirmation_token"),
        ({"confirmation_token": "pm_card_visa"}, "confirmation_token"),
        ({"confirmation_token": "ctoken_1 OR 1=1"}, "confirmation_token"),
        ({"confirmation_token": "ctoken_" + "a" * 300}, "confirmation_token"),
        ({"confirmation_token": ["ctoken_1"]}, "confirmation_token"),
        ({"confirmation_token": {"id": "ctoken_1"}}, "confirmation_token"),
        ({"confirmation_token": None}, "confirmation_token"),
        ({}, "token"),
    ],
    ids=[
        "token-and-confirmation-token",
        "payment-method-and-confirmation-token",
        "all-three",
        "blank",
        "a-payment-method-id",
        "not-an-id",
        "too-long",
        "a-list",
        "an-object",
        "null",
        "none-of-the-three",
    ],
)
def test_a_bad_or_second_way_to_pay_is_a_400_with_no_order_and_no_stripe_call(
    shopper_api, mug, devstripe, body, field
):
    response = shopper_api.post(ORDERS, {"product": mug.id, **body}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
    assert field in response.json()["fields"], response.json()
    assert response.json()["error"]
    assert not Order.objects.exists()
    assert devstripe.requests(method="POST") == []


def test_the_exclusion_names_all_three_ways_to_pay(shopper_api, mug, devstripe):
    response = shopper_api.post(
        ORDERS, {"product": mug.id, "token": "tok_visa", "confirmation_token": "ctoken_1"}
    )

    assert response.status_code == 400
    for way in ("token", "payment_method", "confirmation_token"):
        assert way in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"payment_method": "pm_card_visa", "confirmation_token": "ctoken_1"},
        {"confirmation_token": "tok_visa"},
        {"confirmation_token": 7},
        {"token": "tok_visa"},
        {},
    ],
    ids=["both", "not-a-token", "a-number", "a-token-is-no-second-attempt", "neither"],
)
def test_pay_again_takes_exactly_one_of_payment_method_and_confirmation_token(
    shopper_api, mug, devstripe, body
):
    order = order_in(place(shopper_api, mug, payment_method="pm_card_chargeDeclined"))
    stripe_calls = len(devstripe.requests(method="POST"))

    response = shopper_api.post(f"{ORDERS}{order.id}/pay/", body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["fields"]
    assert order.attempts.count() == 1
    assert len(devstripe.requests(method="POST")) == stripe_calls


def assert_refused_and_payable_again(response, order):
    """Stripe refused the token: a 400 in the shopper's words, the order FAILED and
    payable again, its attempt failed, nothing taken."""
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == payments.CONFIRMATION_TOKEN_REFUSED
    assert response.json()["order"]["status"] == "FAILED"
    assert response.json()["order"]["can_pay"] is True
    assert response.json()["order"]["payment_pending"] is False
    order.refresh_from_db()
    assert order.status == "FAILED"
    assert [a.status for a in order.attempts.all()] == ["failed"]


def test_a_token_used_by_another_order_is_refused_and_that_order_can_be_paid_again(
    shopper_api, mug, devstripe
):
    token = card_token(devstripe)
    first = order_in(place(shopper_api, mug, confirmation_token=token))
    assert first.status == "PAID"

    reused = place(shopper_api, mug, confirmation_token=token)

    second = order_in(reused)
    assert second.id != first.id
    assert_refused_and_payable_again(reused, second)
    assert money_held_for(devstripe, second) == 0
    assert money_held_for(devstripe, first) == first.amount
    # The token still belongs to the first order's PaymentIntent.
    assert confirmation_token_at(devstripe, token)["payment_intent"] == (
        first.stripe_payment_intent_id
    )

    again = pay_with_token(shopper_api, second.id, card_token(devstripe))

    assert again.status_code == 200, again.json()
    second.refresh_from_db()
    assert second.status == "PAID"
    assert money_held_for(devstripe, second) == second.amount
    assert len(payment_intents_at(devstripe, second)) == 1


def test_an_expired_token_is_refused_and_the_order_can_be_paid_again(shopper_api, mug, devstripe):
    token = card_token(devstripe)
    devstripe.advance_clock(13 * 3600)  # ConfirmationTokens expire after 12 hours

    response = place(shopper_api, mug, confirmation_token=token)

    order = order_in(response)
    assert_refused_and_payable_again(response, order)
    assert money_held_for(devstripe, order) == 0
    # reconcile finds nothing to change: the order stays FAILED with the refusal.
    reconcile()
    order.refresh_from_db()
    assert (order.status, order.failure_message) == ("FAILED", payments.CONFIRMATION_TOKEN_REFUSED)


def test_an_unknown_token_is_refused_without_a_charge(shopper_api, mug, devstripe):
    response = place(shopper_api, mug, confirmation_token="ctoken_1NeverMadeAtStripe")

    order = order_in(response)
    assert_refused_and_payable_again(response, order)
    assert money_held_for(devstripe, order) == 0


def test_a_confirmation_whose_answer_was_lost_is_sent_again_with_the_same_key_and_parameters(
    shopper_api, mug, devstripe, settings
):
    settings.FRONTEND_URL = "https://shop.example.com"
    token = card_token(devstripe)

    # Stripe confirms (the token is used) and every answer is lost on the way back.
    lost = while_stripe_fails(
        devstripe,
        "drop_after",
        "/v1/payment_intents/",
        lambda: place(shopper_api, mug, confirmation_token=token),
        method="POST",
    )

    assert lost.status_code == 503, lost.json()
    assert lost.json()["order"]["status"] == "PENDING"
    order = order_in(lost)
    attempt = order.attempts.get()
    assert attempt.status == PaymentAttempt.Status.UNKNOWN
    [paid_at_stripe] = payment_intents_at(devstripe, order)
    assert paid_at_stripe["status"] == "succeeded"

    reconcile()  # sends the attempt again: Stripe replays its first answer

    order.refresh_from_db()
    assert order.status == "PAID"
    assert order.stripe_payment_intent_id == paid_at_stripe["id"]
    confirmations = confirmations_of(devstripe, order)
    assert len(confirmations) >= 2  # the lost ones (SDK retries) and reconcile's
    assert {c["idempotency_key"] for c in confirmations} == {attempt.idempotency_key}
    expected = {
        "confirmation_token": token,
        "return_url": f"https://shop.example.com/?order={order.id}",
        "use_stripe_sdk": "true",
    }
    assert all(c["params"] == expected for c in confirmations)
    assert confirmations[-1]["replayed"] is True
    assert money_held_for(devstripe, order) == order.amount


@pytest.mark.parametrize(
    ("frontend_url", "expected"),
    [
        ("", "http://testserver/?order={id}"),
        ("https://shop.example.com", "https://shop.example.com/?order={id}"),
        ("https://cdn.example.com/shop", "https://cdn.example.com/shop/?order={id}"),
    ],
    ids=["the-request-origin", "frontend-url", "frontend-url-with-a-path"],
)
def test_the_return_url_is_the_order_page_on_the_front_end(
    shopper_api, mug, devstripe, settings, frontend_url, expected
):
    settings.FRONTEND_URL = frontend_url
    declined = place(
        shopper_api, mug, confirmation_token=card_token(devstripe, "pm_card_chargeDeclined")
    )
    order = order_in(declined)

    pay_with_token(shopper_api, order.id, card_token(devstripe))

    return_url = expected.format(id=order.id)
    assert [a.return_url for a in order.attempts.order_by("number")] == [return_url] * 2
    assert [c["params"]["return_url"] for c in confirmations_of(devstripe, order)] == [
        return_url
    ] * 2


def frontend_url_in_production(tmp_path, **changes):
    """Start the shop as production does (the documented environment, with `changes`)
    and print its FRONTEND_URL."""
    environment = {**read_env_file(PRODUCTION_ENV_FILE), **changes}
    environment = {name: value for name, value in environment.items() if value is not None}
    code = "from django.conf import settings; print(settings.FRONTEND_URL)"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=clean_environment(tmp_path, **environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_frontend_url_and_names_it(tmp_path):
    missing = frontend_url_in_production(tmp_path, FRONTEND_URL=None)
    wrong = frontend_url_in_production(tmp_path, FRONTEND_URL="shop.example.com")
    documented = frontend_url_in_production(tmp_path, FRONTEND_URL="https://shop.example.com/")

    assert missing.returncode != 0
    assert "FRONTEND_URL must be set when DJANGO_DEBUG is off" in missing.stderr
    assert wrong.returncode != 0
    assert "FRONTEND_URL must be the front end's address" in wrong.stderr
    assert documented.returncode == 0, documented.stderr
    assert documented.stdout.strip().splitlines()[-1] == "https://shop.example.com"


def test_a_token_order_has_no_return_url(shopper_api, mug, devstripe):
    order = order_in(place(shopper_api, mug, token="tok_visa"))

    attempt = order.attempts.get()
    assert (attempt.source_type, attempt.return_url) == (PaymentAttempt.SourceType.TOKEN, "")
    assert "return_url" not in devstripe.requests(path="/v1/charges")[0]["params"]


# -- attacks -----------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_two_tokens_at_once_for_one_order_take_its_money_once(shop_url, user, mug, devstripe):
    declined = HttpShopper(shop_url, user).place(
        mug, confirmation_token=card_token(devstripe, "pm_card_chargeDeclined")
    )
    assert declined.status_code == 402, declined.text
    order = Order.objects.get()
    tokens = [card_token(devstripe), card_token(devstripe, "pm_card_mastercard")]
    devstripe.configure(latency_ms=300)  # both requests are in flight at once
    both_ready = threading.Barrier(2)

    def pay_now(token):
        shopper = HttpShopper(shop_url, user)  # a session per browser tab
        both_ready.wait()
        return shopper.post(f"{ORDERS}{order.id}/pay/", {"confirmation_token": token})

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(pay_now, tokens))

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    order.refresh_from_db()
    assert order.status == "PAID"
    [intent] = payment_intents_at(devstripe, order)
    assert intent["id"] == order.stripe_payment_intent_id
    assert money_held_for(devstripe, order) == order.amount
    # The refused tab's token was never sent: it can still pay something else.
    used = [confirmation_token_at(devstripe, token)["payment_intent"] for token in tokens]
    assert sorted(used, key=bool) == [None, intent["id"]]


def test_a_token_sent_to_two_orders_pays_one_of_them_only(shopper_api, mug, devstripe):
    token = card_token(devstripe)
    orders = [
        order_in(place(shopper_api, mug, payment_method="pm_card_chargeDeclined")) for _ in range(2)
    ]

    answers = [pay_with_token(shopper_api, order.id, token) for order in orders]

    assert [a.status_code for a in answers] == [200, 400], [a.json() for a in answers]
    for order in orders:
        order.refresh_from_db()
    assert [order.status for order in orders] == ["PAID", "FAILED"]
    assert [money_held_for(devstripe, order) for order in orders] == [orders[0].amount, 0]
    assert answers[1].json()["order"]["can_pay"] is True
