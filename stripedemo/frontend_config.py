"""The front end's config.json, built in one place for both ways the page gets it: served
by Django at /config.json (stripedemo.views.frontend_config) and written to S3 by
scripts/deploy_frontend.py. Plain Python, no Django: the deploy script runs outside it, so
the caller passes what comes from settings or from its command line.

It is data the page fetches, not a script: every script the payment page runs is a fixed
file pinned by its `integrity` hash (PCI DSS 6.4.3), and a generated file could not be.
"""

import json
from typing import Any

from catalog.currency import EXPONENTS


def build_config(
    *, api_base_url: str, stripe_publishable_key: str, stripe_js_url: str, max_quantity: int
) -> dict[str, Any]:
    """Shop.config: where the API and Stripe.js are, and the shop's constants."""
    return {
        "apiBaseUrl": api_base_url,
        "stripePublishableKey": stripe_publishable_key,
        "stripeJsUrl": stripe_js_url,
        # Items per order (settings.ORDER_MAX_QUANTITY): the page offers 1 to this.
        "maxQuantity": max_quantity,
        # Stripe's decimals for every currency without two (catalog/currency.py): the page
        # reads amounts with them, e.g. {"jpy": 0, "kwd": 3}.
        "currencyExponents": dict(EXPONENTS),
    }


def config_json(config: dict[str, Any]) -> str:
    """The file's text."""
    return json.dumps(config, indent=2) + "\n"
