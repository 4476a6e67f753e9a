"""ConfirmationTokens (https://docs.stripe.com/api/confirmation_tokens): what Stripe.js's
createConfirmationToken makes from the Payment Element, for the server to confirm a
PaymentIntent with. Single use; they expire 12 hours after creation.
"""

from __future__ import annotations

import copy
from typing import Any

from . import cards
from .charges import parse_payment_method_data, payment_method, store_payment_method
from .core import Ctx, fail, new_id, optional_str
from .errors import ParamError, StripeError, missing

LIFETIME_SECONDS = 12 * 60 * 60


def _shipping(raw: Any) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict):
        raise ParamError("Invalid object", param="shipping")
    if raw.get("name") in (None, ""):
        raise ParamError(
            "Missing required param: shipping[name].",
            code="parameter_missing",
            param="shipping[name]",
        )
    address = raw.get("address")
    if not isinstance(address, dict) or address.get("line1") in (None, ""):
        raise ParamError(
            "Missing required param: shipping[address][line1].",
            code="parameter_missing",
            param="shipping[address][line1]",
        )
    keys = ("city", "country", "line1", "line2", "postal_code", "state")
    return {
        "address": {k: address.get(k) or None for k in keys},
        "name": raw["name"],
        "phone": raw.get("phone") or None,
    }


def _preview(pm_type: str, details: dict[str, Any], billing: dict[str, Any]) -> dict[str, Any]:
    return {
        "allow_redisplay": "unspecified",
        "billing_details": copy.deepcopy(billing),
        "customer": None,
        pm_type: copy.deepcopy(details),
        "type": pm_type,
    }


def _new_token(
    ctx: Ctx,
    params: dict[str, Any],
    *,
    use_stripe_sdk: bool,
    allow_payment_method: bool,
) -> dict[str, Any]:
    return_url = optional_str(params, "return_url")
    shipping = _shipping(params.get("shipping"))
    if params.get("setup_future_usage") not in (None, ""):
        raise ParamError(
            "devstripe does not support setup_future_usage.", param="setup_future_usage"
        )
    token_id = new_id("ctoken")
    pm_id = optional_str(params, "payment_method") if allow_payment_method else None
    data = params.get("payment_method_data")
    if pm_id and data not in (None, ""):
        raise ParamError(
            "You may only specify one of these parameters: payment_method, payment_method_data.",
            param="payment_method",
        )
    if pm_id:
        pm = payment_method(ctx, pm_id)
        preview = _preview(pm["type"], pm[pm["type"]], pm["billing_details"])
        ctx.store.token_payment_methods[token_id] = pm["id"]
    else:
        if data in (None, ""):
            name = "payment_method" if allow_payment_method else "payment_method_data[type]"
            raise ParamError(
                f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        pm_type, details, billing, card, account = parse_payment_method_data(
            ctx, data, "payment_method_data"
        )
        preview = _preview(pm_type, details, billing)
        if card is not None:
            ctx.store.cards[token_id] = card
        if account is not None:
            ctx.store.bank_accounts[token_id] = account
    created = ctx.store.now()
    return ctx.store.add(
        {
            "id": token_id,
            "object": "confirmation_token",
            "created": created,
            "expires_at": created + LIFETIME_SECONDS,
            "livemode": False,
            "mandate_data": None,
            "payment_intent": None,
            "payment_method_options": None,
            "payment_method_preview": preview,
            "return_url": return_url,
            "setup_future_usage": None,
            "setup_intent": None,
            "shipping": shipping,
            "use_stripe_sdk": use_stripe_sdk,
        }
    )


def create_confirmation_token(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/confirmation_tokens``: what Stripe.js sends with the publishable key."""
    return _new_token(ctx, params, use_stripe_sdk=True, allow_payment_method=False)


def create_test_confirmation_token(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/test_helpers/confirmation_tokens``: for server-side tests (secret key);
    ``payment_method`` (magic ones too) or ``payment_method_data``."""
    return _new_token(ctx, params, use_stripe_sdk=False, allow_payment_method=True)


def retrieve_confirmation_token(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return ctx.store.get(id, "confirmation_token") or fail(missing("confirmationtoken", id))


def usable_token(ctx: Ctx, token_id: str) -> dict[str, Any]:
    """The ConfirmationToken a confirm names, checked before anything changes: it must
    exist, be unused and not expired (each a 400 on the ``confirmation_token`` param)."""
    token = ctx.store.get(token_id, "confirmation_token")
    if token is None:
        raise missing("confirmationtoken", token_id, param="confirmation_token", status=400)
    if token["payment_intent"] or token["setup_intent"]:
        raise StripeError(
            f"This ConfirmationToken ({token_id}) has already been used to confirm "
            f"{token['payment_intent'] or token['setup_intent']}. ConfirmationTokens are single "
            "use: create a new one with stripe.createConfirmationToken.",
            param="confirmation_token",
        )
    if token["expires_at"] is not None and ctx.store.now() >= token["expires_at"]:
        raise StripeError(
            f"This ConfirmationToken ({token_id}) has expired: it could be used until "
            f"{token['expires_at']}. Create a new one with stripe.createConfirmationToken.",
            param="confirmation_token",
        )
    return token


def spend_token(ctx: Ctx, token: dict[str, Any], intent_id: str) -> dict[str, Any]:
    """Mark the token used by ``intent_id`` and return the PaymentMethod made from it
    (or the one it was made from)."""
    token["payment_intent"] = intent_id
    pm_id = ctx.store.token_payment_methods.get(token["id"])
    if pm_id:
        found = ctx.store.get(pm_id, "payment_method")
        if found is not None:
            return found
    preview = token["payment_method_preview"]
    pm_type = preview["type"]
    card = ctx.store.cards.get(token["id"])
    if pm_type == "card" and card is None:  # cannot happen: kept since creation
        card = cards.magic_card(cards.VISA)
    return store_payment_method(
        ctx,
        pm_type,
        preview[pm_type],
        preview["billing_details"],
        card,
        ctx.store.bank_accounts.get(token["id"]),
    )
