"""Paying with a PaymentMethod through PaymentIntents, 3-D Secure included."""

import itertools

import pytest

from orders import refunds
from orders.models import Order, PaymentAttempt
from tests.helpers import payment_intents_at, stripe_client, token_for
from tests.orders.stripe_events import deliver, event
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

ORDERS = "/api/order/"
THREE_D_SECURE = "pm_card_authenticationRequired"


@pytest.fixture
def pay(shopper_api, product, devstripe):
    def post(payment_method, quantity=1):
        return shopper_api.post(
            ORDERS,
            {"product": product.id, "payment_method": payment_method, "quantity": quantity},
            format="json",
        )

    return post


def intents_sent(devstripe):
    return devstripe.requests(path="/v1/payment_intents", method="POST")


def test_a_card_without_a_challenge_pays_at_once(pay, devstripe):
    response = pay("pm_card_visa")

    assert response.status_code == 201
    assert response.json()["order"]["status"] == "PAID"
    assert "requires_action" not in response.json()
    order = Order.objects.get()
    assert order.stripe_payment_intent_id.startswith("pi_")
    assert order.stripe_charge_id.startswith("ch_")


def test_the_order_has_one_payment_intent_and_each_card_confirms_it(pay, devstripe):
    pay("pm_card_visa", quantity=3)

    order = Order.objects.get()
    attempt = order.attempts.get()
    [creation] = intents_sent(devstripe)
    params = creation["params"]
    assert params["amount"] == "5997"
    assert params["currency"] == "usd"
    # Automatic payment methods: whatever the Payment Element offers (issue 14).
    assert params["automatic_payment_methods"] == {"enabled": "true"}
    assert "payment_method_types" not in params
    # Created without a card, so that repeating the creation is always the same request.
    assert "payment_method" not in params and "confirm" not in params
    assert params["metadata"] == {
        "order_id": str(order.id),
        "idempotency_key": order.payment_intent_key,
    }
    assert creation["idempotency_key"] == order.payment_intent_key
    # Chosen before the order has an id (it is inserted with it): the shopper's id.
    assert order.payment_intent_key.startswith(f"user-{order.user_id}-create_payment_intent-")
    [confirmation] = devstripe.requests(path="/v1/payment_intents/*", method="POST")
    assert confirmation["path"] == f"/v1/payment_intents/{order.stripe_payment_intent_id}/confirm"
    assert confirmation["params"]["payment_method"] == "pm_card_visa"
    # Every confirmation says where a redirecting method comes back to, and keeps 3-D
    # Secure in Stripe.js.
    assert confirmation["params"]["return_url"] == attempt.return_url
    assert attempt.return_url == f"http://testserver/?order={order.id}"
    assert confirmation["params"]["use_stripe_sdk"] == "true"
    assert confirmation["idempotency_key"] == attempt.idempotency_key
    assert attempt.kind == PaymentAttempt.Kind.PAYMENT_INTENT
    assert attempt.idempotency_key.startswith(f"order-{order.id}-payment_intent-1-")


def test_a_declined_card_fails_the_order(pay, devstripe):
    response = pay("pm_card_chargeDeclined")

    assert response.status_code == 402
    assert response.json()["error"] == "Your card was declined."
    assert response.json()["order"]["status"] == "FAILED"
    assert Order.objects.get().stripe_payment_intent_id.startswith("pi_")


def test_a_3d_secure_card_asks_for_the_challenge(pay, devstripe):
    response = pay(THREE_D_SECURE)

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True
    assert body["requires_action"] is True
    assert body["order"]["status"] == "PENDING"
    order = Order.objects.get()
    assert body["client_secret"].startswith(order.stripe_payment_intent_id + "_secret_")
    assert order.attempts.get().status == PaymentAttempt.Status.REQUIRES_ACTION


def test_confirm_after_authentication_pays_the_order(pay, shopper_api, devstripe):
    order_id = pay(THREE_D_SECURE).json()["order"]["id"]
    devstripe.authenticate(Order.objects.get().stripe_payment_intent_id, succeed=True)

    response = shopper_api.post(f"{ORDERS}{order_id}/confirm/")

    assert response.status_code == 200
    assert response.json()["order"]["status"] == "PAID"
    assert Order.objects.get().attempts.get().status == PaymentAttempt.Status.SUCCEEDED


def test_confirm_after_failed_authentication_fails_with_stripes_message(
    pay, shopper_api, devstripe
):
    order_id = pay(THREE_D_SECURE).json()["order"]["id"]
    devstripe.authenticate(Order.objects.get().stripe_payment_intent_id, succeed=False)

    response = shopper_api.post(f"{ORDERS}{order_id}/confirm/")

    assert response.status_code == 402
    assert response.json()["error"] == (
        "We are unable to authenticate your payment method. "
        "Please choose a different payment method and try again."
    )
    assert response.json()["order"]["status"] == "FAILED"


def test_confirm_before_authentication_is_still_pending(pay, shopper_api, devstripe):
    order_id = pay(THREE_D_SECURE).json()["order"]["id"]

    response = shopper_api.post(f"{ORDERS}{order_id}/confirm/")

    assert response.status_code == 202
    assert response.json()["order"]["status"] == "PENDING"
    assert response.json()["requires_action"] is True


def test_confirm_on_a_paid_order_is_a_no_op(pay, shopper_api, devstripe):
    order_id = pay("pm_card_visa").json()["order"]["id"]
    asked_before = len(devstripe.requests())

    for _ in range(2):
        response = shopper_api.post(f"{ORDERS}{order_id}/confirm/")
        assert response.status_code == 200
        assert response.json()["order"]["status"] == "PAID"
    assert len(devstripe.requests()) == asked_before


def test_only_the_owner_may_confirm_or_pay(pay, api, make_user, devstripe):
    order_id = pay(THREE_D_SECURE).json()["order"]["id"]
    api.credentials(HTTP_AUTHORIZATION=f"JWT {token_for(make_user(email='eve@example.com'))}")

    assert api.post(f"{ORDERS}{order_id}/confirm/").status_code == 404
    response = api.post(
        f"{ORDERS}{order_id}/pay/", {"payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 404
    assert Order.objects.get().status == "PENDING"


def test_a_failed_order_is_paid_with_a_second_card_on_the_same_intent(pay, shopper_api, devstripe):
    order_id = pay("pm_card_chargeDeclined").json()["order"]["id"]
    intent_id = Order.objects.get().stripe_payment_intent_id

    response = shopper_api.post(
        f"{ORDERS}{order_id}/pay/", {"payment_method": "pm_card_visa"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["order"]["status"] == "PAID"
    order = Order.objects.get()
    assert order.stripe_payment_intent_id == intent_id
    first, second = order.attempts.all()
    assert first.idempotency_key != second.idempotency_key
    confirms = devstripe.requests(path=f"/v1/payment_intents/{intent_id}/confirm")
    assert [c["idempotency_key"] for c in confirms] == [
        first.idempotency_key,
        second.idempotency_key,
    ]
    assert confirms[-1]["params"]["payment_method"] == "pm_card_visa"


def test_an_order_whose_first_card_stripe_refused_is_paid_with_another(pay, shopper_api, devstripe):
    refused = pay("pm_doesnotexist")
    assert refused.status_code == 400
    assert refused.json()["order"]["status"] == "FAILED"
    # The PaymentIntent was made before the card was refused: the order keeps it.
    [intent] = payment_intents_at(devstripe)
    assert Order.objects.get().stripe_payment_intent_id == intent["id"]

    response = shopper_api.post(
        f"{ORDERS}{refused.json()['order']['id']}/pay/",
        {"payment_method": "pm_card_visa"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["order"]["status"] == "PAID"
    # The creation was repeated with the order's key: still the one PaymentIntent.
    [intent] = payment_intents_at(devstripe)
    assert intent["id"] == Order.objects.get().stripe_payment_intent_id
    assert intent["status"] == "succeeded"


def test_a_second_failure_shows_the_newest_reason(pay, shopper_api, devstripe):
    order_id = pay("pm_card_chargeDeclined").json()["order"]["id"]

    response = shopper_api.post(
        f"{ORDERS}{order_id}/pay/",
        {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"},
        format="json",
    )

    assert response.status_code == 402
    assert response.json()["error"] == "Your card has insufficient funds."
    order = Order.objects.get()
    assert order.status == "FAILED"
    assert order.failure_message == "Your card has insufficient funds."


def test_a_paid_order_cannot_be_paid_again(pay, shopper_api, devstripe):
    order_id = pay("pm_card_visa").json()["order"]["id"]

    response = shopper_api.post(
        f"{ORDERS}{order_id}/pay/", {"payment_method": "pm_card_visa"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["order"]["status"] == "PAID"


def test_a_declined_token_order_is_paid_again_with_a_card_as_the_same_order(
    shopper_api, product, devstripe
):
    response = shopper_api.post(
        ORDERS, {"product": product.id, "token": "tok_chargeDeclined"}, format="json"
    )
    order_id = response.json()["order"]["id"]
    assert response.json()["order"]["can_pay"] is True

    again = shopper_api.post(
        f"{ORDERS}{order_id}/pay/", {"payment_method": "pm_card_visa"}, format="json"
    )

    assert again.status_code == 200
    assert again.json()["order"]["status"] == "PAID"
    assert Order.objects.get().pk == order_id
    assert len(payment_intents_at(devstripe)) == 1


def test_token_and_payment_method_together_are_refused(shopper_api, product, devstripe):
    response = shopper_api.post(
        ORDERS,
        {"product": product.id, "token": "tok_visa", "payment_method": "pm_card_visa"},
        format="json",
    )

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_a_webhook_settles_an_order_whose_browser_closed_after_the_challenge(
    pay, devstripe, api, settings
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    pay(THREE_D_SECURE)
    order = Order.objects.get()
    devstripe.authenticate(order.stripe_payment_intent_id, succeed=True)
    [succeeded] = devstripe.events(type="payment_intent.succeeded")

    response = deliver(api, succeeded, WEBHOOK_SECRET)

    assert response.json()["outcome"] == "processed"
    order.refresh_from_db()
    assert order.status == "PAID"


def test_refunds_of_intent_orders_name_the_payment_intent(pay, devstripe):
    pay("pm_card_visa")
    order = Order.objects.get()

    refunds.refund_order(order=order)

    [refund] = devstripe.requests(path="/v1/refunds", method="POST")
    assert refund["params"]["payment_intent"] == order.stripe_payment_intent_id
    order.refresh_from_db()
    assert order.status == "REFUNDED"


def test_reconcile_settles_a_pending_intent_order(pay, devstripe):
    from django.core.management import call_command

    pay(THREE_D_SECURE)
    order = Order.objects.get()
    devstripe.authenticate(order.stripe_payment_intent_id, succeed=True)

    call_command("reconcile_orders", "--older-than=0", stdout=open("/dev/null", "w"))

    order.refresh_from_db()
    assert order.status == "PAID"


SETTLERS = ("confirm", "webhook", "reconcile")


@pytest.mark.parametrize("order_of_settlers", list(itertools.permutations(SETTLERS)))
@pytest.mark.parametrize("authenticated", [True, False])
def test_states_never_go_backwards_whatever_settles_first(
    pay, shopper_api, api, devstripe, settings, order_of_settlers, authenticated
):
    from django.core.management import call_command

    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    order_id = pay(THREE_D_SECURE).json()["order"]["id"]
    intent_id = Order.objects.get().stripe_payment_intent_id
    devstripe.authenticate(intent_id, succeed=authenticated)
    final = "PAID" if authenticated else "FAILED"
    events = devstripe.events()
    settle = {
        "confirm": lambda: shopper_api.post(f"{ORDERS}{order_id}/confirm/"),
        "webhook": lambda: [deliver(api, e, WEBHOOK_SECRET) for e in reversed(events)],
        "reconcile": lambda: call_command(
            "reconcile_orders", "--older-than=0", stdout=open("/dev/null", "w")
        ),
    }
    # Stripe's own snapshot of the PaymentIntent still waiting for the challenge,
    # delivered again under a new event id after each step: it must not move anything.
    [waiting] = devstripe.events(type="payment_intent.requires_action")
    stale = waiting["data"]["object"]
    seen = []
    for name in order_of_settlers:
        settle[name]()
        deliver(api, event("payment_intent.requires_action", stale), WEBHOOK_SECRET)
        seen.append(Order.objects.get().status)
    assert seen == [final] * 3


def test_a_charge_event_that_overtakes_the_lost_answer_leaves_a_refundable_order(
    pay, api, devstripe, settings
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    devstripe.add_fault(method="POST", path="/v1/payment_intents/", mode="drop_after", times=3)
    assert pay("pm_card_visa").status_code == 503
    order = Order.objects.get()
    attempt = order.attempts.get()
    [charge] = [c.to_dict() for c in stripe_client(devstripe).v1.charges.list().data]

    # Stripe's charge.succeeded, caused by the attempt's confirmation, arrives first.
    event_body = event("charge.succeeded", charge, idempotency_key=attempt.idempotency_key)
    assert deliver(api, event_body, WEBHOOK_SECRET).json()["outcome"] == "processed"

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == "PAID"
    # The attempt records what it paid with, the PaymentIntent, so a refund can name it.
    assert attempt.stripe_id == charge["payment_intent"] == order.stripe_payment_intent_id
    refunds.refund_order(order=order)
    [refund] = devstripe.requests(path="/v1/refunds", method="POST")
    assert refund["params"]["payment_intent"] == order.stripe_payment_intent_id


def test_a_late_failure_of_an_earlier_card_leaves_the_card_being_tried_alone(
    pay, api, devstripe, settings
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    pay(THREE_D_SECURE)
    order = Order.objects.get()
    failed_intent = devstripe.authenticate(order.stripe_payment_intent_id, succeed=False)
    # Meanwhile the shopper tries another card; its confirmation is still in flight.
    trying = PaymentAttempt.objects.create(
        order=order,
        number=2,
        kind=PaymentAttempt.Kind.PAYMENT_INTENT,
        payment_source="pm_card_visa",
        idempotency_key="order-trying-2",
    )

    # The bank step's failure arrives without a request key (it came from the browser).
    deliver(api, event("payment_intent.payment_failed", failed_intent), WEBHOOK_SECRET)

    trying.refresh_from_db()
    assert trying.status == PaymentAttempt.Status.STARTED
    order.refresh_from_db()
    assert order.status == "FAILED"
