"""Tokens, payment methods, charges and refunds."""

from __future__ import annotations

import copy
from typing import Any

from . import cards, methods
from .cards import Card, Decline
from .core import (
    Ctx,
    amount_and_currency,
    emit,
    fail,
    list_page,
    money,
    new_id,
    now,
    optional_str,
    search,
)
from .errors import ParamError, StripeError, missing
from .params import metadata, one_of, positive_int, to_bool

# -- tokens, cards and payment methods --------------------------------------


def create_token(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("card") is None:
        raise ParamError(
            "You must supply either a card, customer, PII data, bank account, or account "
            "legal entity to create a token."
        )
    card = cards.parse_card(params["card"])
    token_id = new_id("tok")
    token = {
        "id": token_id,
        "object": "token",
        "card": cards.card_object(new_id("card"), card, "unchecked" if card.cvc else None),
        "client_ip": ctx.client_ip,
        "created": now(),
        "livemode": False,
        "type": "card",
        "used": False,
    }
    ctx.store.cards[token_id] = card
    return ctx.store.add(token)


def retrieve_token(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return ctx.store.get(id, "token") or fail(missing("token", id))


def _spend_token(ctx: Ctx, token_id: str, param: str) -> tuple[Card, dict[str, Any]]:
    """A token's card, consuming the token: Stripe tokens are single-use."""
    if token_id in cards.MAGIC_TOKENS:  # reusable, like in Stripe's test mode
        card = cards.magic_card(cards.MAGIC_TOKENS[token_id])
        return card, cards.card_object(new_id("card"), card, None)
    token = ctx.store.get(token_id, "token")
    if token is None:
        raise missing("token", token_id, param=param, status=400)
    if token["used"]:
        raise StripeError(
            f"You cannot use a Stripe token more than once: {token_id}.",
            code="token_already_used",
            param=param,
        )
    token["used"] = True
    return ctx.store.cards[token_id], copy.deepcopy(token["card"])


def _billing_details(raw: Any) -> dict[str, Any]:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ParamError("Invalid object", param="billing_details")
    address = raw.get("address") or {}
    if not isinstance(address, dict):
        raise ParamError("Invalid object", param="billing_details[address]")
    keys = ("city", "country", "line1", "line2", "postal_code", "state")
    return {
        "address": {k: address.get(k) or None for k in keys},
        "email": raw.get("email") or None,
        "name": raw.get("name") or None,
        "phone": raw.get("phone") or None,
        "tax_id": None,
    }


def _new_payment_method(
    ctx: Ctx, card: Card, billing: dict[str, Any] | None = None, meta: dict | None = None
) -> dict[str, Any]:
    pm = new_payment_method(ctx, "card", cards.payment_method_card(card), billing, meta)
    ctx.store.cards[pm["id"]] = card
    return pm


def new_payment_method(
    ctx: Ctx,
    pm_type: str,
    details: dict[str, Any],
    billing: dict[str, Any] | None = None,
    meta: dict | None = None,
) -> dict[str, Any]:
    """A PaymentMethod of ``pm_type`` whose type-specific hash is ``details``; the caller
    keeps its card or account number in the store (never in the object)."""
    pm = {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing or _billing_details(None),
        pm_type: details,
        "created": now(),
        "customer": None,
        "livemode": False,
        "metadata": meta or {},
        "type": pm_type,
    }
    return ctx.store.add(pm)


def parse_payment_method_data(
    ctx: Ctx, data: Any, prefix: str
) -> tuple[str, dict[str, Any], dict[str, Any], Card | None, str | None]:
    """Validate PaymentMethod data (``type``, ``card[...]`` / ``us_bank_account[...]``,
    ``billing_details``) as Stripe does when it creates one: (type, the type's hash,
    billing_details, card, bank account number). Nothing is stored."""
    if not isinstance(data, dict):
        raise ParamError(
            f"Missing required param: {prefix}[type].", code="parameter_missing", param=prefix
        )
    pm_type = data.get("type")
    type_param = f"{prefix}[type]" if prefix else "type"
    if pm_type in (None, ""):
        raise ParamError(
            f"Missing required param: {type_param}.", code="parameter_missing", param=type_param
        )
    if pm_type not in methods.TYPES:
        raise methods.unknown_type(pm_type, type_param)
    billing = _billing_details(data.get("billing_details"))

    def param(name: str) -> str:
        return f"{prefix}[{name}]" if prefix else name

    if pm_type == "card":
        raw = data.get("card")
        if not isinstance(raw, dict):
            raise ParamError(
                f"Missing required param: {param('card')}.",
                code="parameter_missing",
                param=param("card"),
            )
        if raw.get("token"):
            card, _ = _spend_token(ctx, raw["token"], param("card") + "[token]")
        else:
            card = cards.parse_card(raw, param("card"))
        return pm_type, cards.payment_method_card(card), billing, card, None
    if pm_type == "us_bank_account":
        if not billing["name"]:
            # ACH debits need the account holder's name (Stripe requires it too).
            raise ParamError(
                f"Missing required param: {param('billing_details')}[name].",
                code="parameter_missing",
                param=param("billing_details") + "[name]",
            )
        number, bank = methods.parse_bank_account(
            data.get("us_bank_account"), param("us_bank_account")
        )
        return pm_type, bank, billing, None, number
    return pm_type, {}, billing, None, None


def store_payment_method(
    ctx: Ctx,
    pm_type: str,
    details: dict[str, Any],
    billing: dict[str, Any],
    card: Card | None,
    account_number: str | None,
    meta: dict | None = None,
) -> dict[str, Any]:
    pm = new_payment_method(ctx, pm_type, copy.deepcopy(details), copy.deepcopy(billing), meta)
    if card is not None:
        ctx.store.cards[pm["id"]] = card
    if account_number is not None:
        ctx.store.bank_accounts[pm["id"]] = account_number
    return pm


def create_payment_method(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    meta = metadata(params.get("metadata"))
    parsed = parse_payment_method_data(ctx, params, "")
    return store_payment_method(ctx, *parsed, meta=meta)


def payment_method(ctx: Ctx, pm_id: Any, param: str = "payment_method") -> dict[str, Any]:
    """An existing PaymentMethod, or a fresh one for a magic id like pm_card_visa."""
    if pm_id in cards.MAGIC_PAYMENT_METHODS:
        return _new_payment_method(ctx, cards.magic_card(cards.MAGIC_PAYMENT_METHODS[pm_id]))
    return ctx.store.get(pm_id, "payment_method") or fail(
        missing("PaymentMethod", str(pm_id), param=param, status=400)
    )


def retrieve_payment_method(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    if id in cards.MAGIC_PAYMENT_METHODS:
        return payment_method(ctx, id)
    return ctx.store.get(id, "payment_method") or fail(missing("PaymentMethod", id))


# -- charges ----------------------------------------------------------------


def declined(decline: Decline, **extra: Any) -> StripeError:
    return StripeError(
        decline.message,
        status=402,
        type="card_error",
        code=decline.code,
        decline_code=decline.decline_code,
        param=decline.param,
        **extra,
    )


def new_charge(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    description: str | None,
    meta: dict[str, str],
    card: Card | None,
    decline: Decline | None,
    payment_method: str,
    source: dict[str, Any] | None = None,
    payment_intent: str | None = None,
    billing_details: dict[str, Any] | None = None,
    three_d_secure: dict[str, Any] | None = None,
    method_details: dict[str, Any] | None = None,
    pending: bool = False,
) -> dict[str, Any]:
    """A card charge (``card``), or another method's (``method_details``: its
    payment_method_details); ``pending`` for a debit that settles later (settle_charge)."""
    paid = decline is None and not pending
    if card is not None:
        cvc_result = cards.cvc_check(card, decline)
        method_details = {
            "card": cards.charge_card_details(card, amount, paid, cvc_result, three_d_secure),
            "type": "card",
        }
        if source is not None:
            source = {**source, "cvc_check": cvc_result}
    charge_id = new_id("ch")
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if paid or pending else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn") if paid or pending else None,
        "billing_details": billing_details or _billing_details(None),
        "calculated_statement_descriptor": "DEVSTRIPE",
        "captured": paid or pending,
        "created": now(),
        "currency": currency,
        "customer": None,
        "description": description,
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if decline is None else decline.code,
        "failure_message": None if decline is None else decline.message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(meta),
        "on_behalf_of": None,
        "outcome": None
        if pending
        else cards.APPROVED_OUTCOME
        if decline is None
        else decline.charge_outcome(),
        "paid": paid,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "payment_method_details": method_details,
        "radar_options": {},
        "receipt_email": None,
        "receipt_number": None,
        # Stripe gives every paid charge its receipt page (https://pay.stripe.com/receipts/…);
        # devstripe's stands at devstripe, where the caller reached it.
        "receipt_url": f"{ctx.base_url}/receipts/payment/{charge_id}" if paid or pending else None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": source,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "pending" if pending else "succeeded" if paid else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }
    ctx.store.add(charge)
    emit(
        ctx,
        "charge.pending" if pending else "charge.succeeded" if paid else "charge.failed",
        charge,
    )
    return charge


def settle_charge(ctx: Ctx, charge: dict[str, Any], failure: Decline | None) -> None:
    """A pending debit settles: succeeded (paid), or failed with the bank's reason."""
    previous = {"status": charge["status"], "paid": charge["paid"]}
    if failure is None:
        charge.update(status="succeeded", paid=True, outcome=cards.APPROVED_OUTCOME)
        emit(ctx, "charge.succeeded", charge, previous)
        return
    charge.update(
        status="failed",
        paid=False,
        captured=False,
        amount_captured=0,
        balance_transaction=None,
        failure_balance_transaction=new_id("txn"),
        failure_code=failure.code,
        failure_message=failure.message,
        outcome=failure.charge_outcome(),
        receipt_url=None,
    )
    emit(ctx, "charge.failed", charge, previous)


def create_charge(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    amount, currency = amount_and_currency(params)
    if params.get("customer"):
        raise ParamError(
            "devstripe has no customers; charge a token with `source`.", param="customer"
        )
    source = params.get("source")
    if not source:
        raise ParamError("Must provide source or customer.")
    if not isinstance(source, str):
        raise ParamError("devstripe accepts only token ids as `source`.", param="source")
    if not to_bool(params.get("capture"), "capture", default=True):
        raise ParamError("devstripe does not support uncaptured charges (capture=false).")
    description = optional_str(params, "description")
    meta = metadata(params.get("metadata"))

    if source.startswith("tok_") or source in cards.MAGIC_TOKENS:
        card, card_obj = _spend_token(ctx, source, "source")
    else:
        raise missing("source", source, param="source", status=400)
    # Nobody can complete 3-D Secure on the Charges API, so such cards decline.
    decline = cards.DECLINES.get(card.number) or (
        cards.AUTHENTICATION_DECLINE if card.number in cards.REQUIRES_3DS else None
    )
    charge = new_charge(
        ctx,
        amount=amount,
        currency=currency,
        description=description,
        meta=meta,
        card=card,
        decline=decline,
        payment_method=card_obj["id"],
        source=card_obj,
    )
    if decline:
        raise declined(decline, charge=charge["id"])
    return charge


def retrieve_charge(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return ctx.store.get(id, "charge") or fail(missing("charge", id))


def list_charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    pi = params.get("payment_intent")
    charges = ctx.store.newest_first("charge", lambda c: not pi or c["payment_intent"] == pi)
    return list_page(charges, params, "/v1/charges")


def search_charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return search(ctx, params, "charge", "/v1/charges/search")


# -- refunds ----------------------------------------------------------------


def create_refund(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    charge_id, intent_id = params.get("charge"), params.get("payment_intent")
    if not charge_id and not intent_id:
        raise ParamError(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    amount = (
        None if params.get("amount") in (None, "") else positive_int(params["amount"], "amount")
    )
    reason = one_of(
        params.get("reason"), "reason", ("duplicate", "fraudulent", "requested_by_customer")
    )
    meta = metadata(params.get("metadata"))

    if intent_id:
        intent = ctx.store.get(intent_id, "payment_intent") or fail(
            missing("payment_intent", str(intent_id), param="payment_intent", status=400)
        )
        if intent["status"] != "succeeded":
            raise StripeError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    charge = ctx.store.get(charge_id, "charge") or fail(
        missing("charge", str(charge_id), param="charge", status=400)
    )
    if charge["status"] != "succeeded":
        raise StripeError(
            f"Charge {charge['id']} has a status of {charge['status']} and cannot be refunded.",
            code="charge_not_refundable",
            param="charge",
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if amount is None else amount
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded "
            f"amount on charge ({money(remaining, charge['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    refund = ctx.store.add(
        {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn"),
            "charge": charge["id"],
            "created": now(),
            "currency": charge["currency"],
            "destination_details": _refund_destination(charge),
            "metadata": meta,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
    )
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    emit(ctx, "charge.refunded", charge, previous)
    emit(ctx, "refund.created", refund)
    return refund


def _refund_destination(charge: dict[str, Any]) -> dict[str, Any]:
    method = (charge.get("payment_method_details") or {}).get("type") or "card"
    if method == "card":
        return {"card": {"type": "refund"}, "type": "card"}
    return {method: {}, "type": method}


def retrieve_refund(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return ctx.store.get(id, "refund") or fail(missing("refund", id))


def list_refunds(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    charge, intent = params.get("charge"), params.get("payment_intent")
    refunds = ctx.store.newest_first(
        "refund",
        lambda r: (
            (not charge or r["charge"] == charge) and (not intent or r["payment_intent"] == intent)
        ),
    )
    return list_page(refunds, params, "/v1/refunds")
