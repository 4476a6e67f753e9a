"""Keys and Stripe ids compare byte for byte, on MariaDB too (issue 11, defect 7).

MariaDB's default collation folds case: `Twin-abc` would equal `twin-abc`, and a Stripe
id could find an order holding another id that differs only in case. Run on SQLite and on
MariaDB (DATABASE_URL=mysql://…), as scripts/test does.
"""

import pytest

from orders.models import Order
from tests.helpers import (
    stripe_client,
)
from tests.orders.attempt_helpers import (
    deliver_events,
    events_about,
    place,
)
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_keys_differing_only_in_case_are_two_purchases(shopper_api, product, devstripe):
    first = place(shopper_api, product, key="Twin-abc", token="tok_visa")
    second = place(shopper_api, product, key="twin-abc", token="tok_visa")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert second.json()["order"]["id"] != first.json()["order"]["id"]
    assert Order.objects.filter(status="PAID").count() == 2
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 2


def test_an_event_settles_the_order_holding_exactly_its_payment_intent(
    api, user, product, devstripe, settings
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    amount = 1999
    # A PaymentIntent paid at Stripe whose events name it by id only (no order_id).
    intent = stripe_client(devstripe).v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    assert intent.id.swapcase() != intent.id

    def order_holding(intent_id):
        return Order.objects.create(
            user=user,
            product=product,
            quantity=1,
            amount=amount,
            currency="usd",
            stripe_payment_intent_id=intent_id,
        )

    owner = order_holding(intent.id)
    # Created last, so a case-blind lookup (which takes the newest) would pick it.
    lookalike = order_holding(intent.id.swapcase())

    deliver_events(api, events_about(devstripe, intent.id))

    owner.refresh_from_db()
    lookalike.refresh_from_db()
    assert (owner.status, lookalike.status) == ("PAID", "PENDING")
    assert lookalike.stripe_charge_id == ""
