"""Plain helpers the test modules import (fixtures stay in the conftest.py files)."""

import stripe
from rest_framework_simplejwt.tokens import AccessToken

PASSWORD = "correct-horse-battery-staple"


def token_for(user):
    """A JWT access token for `user`, as the shop's login answers it."""
    return str(AccessToken.for_user(user))


def charges_at(devstripe):
    """Every charge devstripe holds, read back through the official SDK as Stripe's own."""
    client = stripe.StripeClient(devstripe.secret_key, base_addresses={"api": devstripe.url})
    return [
        charge.to_dict()
        for charge in client.v1.charges.list({"limit": 100, "expand": ["data.refunds"]}).data
    ]
