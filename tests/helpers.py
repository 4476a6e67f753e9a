"""Plain helpers the test modules import (fixtures stay in the conftest.py files)."""

import stripe
from rest_framework_simplejwt.tokens import AccessToken

PASSWORD = "correct-horse-battery-staple"


def token_for(user):
    """A JWT access token for `user`, as the shop's login answers it."""
    return str(AccessToken.for_user(user))


def stripe_client(devstripe):
    """The official SDK pointed at devstripe: how tests read what "Stripe" holds."""
    return stripe.StripeClient(devstripe.secret_key, base_addresses={"api": devstripe.url})


def charges_at(devstripe):
    """Every charge devstripe holds, read back through the official SDK as Stripe's own."""
    listed = stripe_client(devstripe).v1.charges.list({"limit": 100, "expand": ["data.refunds"]})
    return [charge.to_dict() for charge in listed.data]


def _for_order(objects, order):
    if order is None:
        return objects
    return [o for o in objects if (o.get("metadata") or {}).get("order_id") == str(order.id)]


def payment_intents_at(devstripe, order=None):
    """Every PaymentIntent devstripe holds (naming `order` in its metadata, if given)."""
    listed = stripe_client(devstripe).v1.payment_intents.list({"limit": 100}).data
    return _for_order([intent.to_dict() for intent in listed], order)


def succeeded_charges(devstripe, order=None):
    """The charges that took money (naming `order` in their metadata, if given)."""
    charges = [charge for charge in charges_at(devstripe) if charge["status"] == "succeeded"]
    return _for_order(charges, order)
