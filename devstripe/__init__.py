"""devstripe: a stand-in for Stripe, for local development and tests.

This is NOT Stripe and moves no money. It is a small local HTTP server that
answers a subset of Stripe's API (tokens, charges, refunds, payment methods,
ConfirmationTokens, payment intents, events, signed webhooks) in Stripe's wire
format, serves a Stripe.js stand-in at ``/v3/``, a test 3-D Secure page and a test
redirect page (amazon_pay), settles bank debits later on a timer, and lets tests
inject faults and latency through ``/_devstripe/`` control routes.

The shop's code never imports this package: it talks to devstripe over HTTP
exactly as it talks to api.stripe.com, by configuring the Stripe SDK's base
address and test keys. Only tests (through ``devstripe.testing``) import it.

Run it with ``python -m devstripe --port 4242`` (see ``__main__.py``).
"""

# The API version that stripe-python 16.1.0 sends; events are stamped with it.
API_VERSION = "2026-10-28.endive"

__all__ = ["API_VERSION"]
