"""PaymentIntents, and the test 3-D Secure step that completes them."""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from . import cards, methods
from .cards import Card, Decline
from .charges import declined, new_charge, payment_method, settle_charge
from .confirmation_tokens import spend_token, usable_token
from .core import (
    Ctx,
    amount_and_currency,
    emit,
    fail,
    list_page,
    new_id,
    now,
    optional_str,
    random_string,
    search,
)
from .errors import ParamError, StripeError, doc_url, missing
from .params import metadata, one_of, string_list, to_bool
from .store import Store

# -- payment intents ----------------------------------------------------------

RETURN_URL_REQUIRED = (
    "A `return_url` must be specified because this Payment Intent is configured to "
    "automatically accept the payment methods enabled in the Dashboard, some of which may "
    "require a full page redirect to succeed. If you do not want to accept redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment Intents."
)

AUTHENTICATION_FAILURE = (
    "The provided PaymentMethod has failed authentication. You can provide "
    "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
)

MISSING_PAYMENT_METHOD = (
    "You cannot confirm this PaymentIntent because it's missing a payment method. You can "
    "either update the PaymentIntent with a payment method and then confirm it again, or "
    "confirm it again directly with a payment method."
)

_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)

# What a publishable key sees of a PaymentIntent (with its client_secret).
_PUBLISHABLE_FIELDS = (
    "id",
    "object",
    "amount",
    "amount_details",
    "automatic_payment_methods",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "description",
    "last_payment_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_configuration_details",
    "payment_method_types",
    "processing",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "source",
    "status",
)


def _require_return_url(automatic: dict[str, Any] | None, return_url: str | None) -> None:
    """Redirect-capable automatic payment methods need a return_url to confirm."""
    if automatic and automatic["enabled"] and automatic["allow_redirects"] != "never":
        if not return_url:
            raise ParamError(RETURN_URL_REQUIRED)


def _confirm_options(params: dict[str, Any]) -> dict[str, Any]:
    """The confirmation's own parameters (a ConfirmationToken fills in those not sent)."""
    return {
        "return_url": optional_str(params, "return_url"),
        "use_stripe_sdk": to_bool(params.get("use_stripe_sdk"), "use_stripe_sdk"),
        "off_session": to_bool(params.get("off_session"), "off_session"),
        "error_on_requires_action": to_bool(
            params.get("error_on_requires_action"), "error_on_requires_action"
        ),
    }


def create_payment_intent(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    amount, currency = amount_and_currency(params)
    automatic = params.get("automatic_payment_methods")
    if automatic is not None and not isinstance(automatic, dict):
        raise ParamError("Invalid object", param="automatic_payment_methods")
    types = params.get("payment_method_types")
    if types is not None:
        types = string_list(types, "payment_method_types")
        if automatic and to_bool(automatic.get("enabled"), "automatic_payment_methods[enabled]"):
            raise ParamError(
                "You may only specify one of these parameters: automatic_payment_methods, "
                "payment_method_types.",
                param="automatic_payment_methods",
            )
        for pm_type in types:
            if pm_type not in methods.TYPES:
                raise ParamError(
                    f"The payment method type provided: {pm_type} is invalid. devstripe "
                    "supports " + ", ".join(f"`{t}`" for t in methods.TYPES) + ".",
                    param="payment_method_types",
                )
        automatic_obj = None
    else:
        # Since API version 2023-08-16 automatic_payment_methods is enabled by
        # default when payment_method_types is not given.
        if automatic is not None and automatic.get("enabled") in (None, ""):
            raise ParamError(
                "Missing required param: automatic_payment_methods[enabled].",
                code="parameter_missing",
                param="automatic_payment_methods[enabled]",
            )
        automatic = automatic or {}
        enabled = to_bool(automatic.get("enabled"), "automatic_payment_methods[enabled]", True)
        allow = one_of(
            automatic.get("allow_redirects"),
            "automatic_payment_methods[allow_redirects]",
            ("always", "never"),
            "always",
        )
        automatic_obj = {"allow_redirects": allow, "enabled": True} if enabled else None
        # The methods "enabled in the Dashboard": devstripe's three, less the redirect
        # one when redirects are not allowed.
        types = ["card"]
        if enabled:
            types = [
                t for t in methods.TYPES if allow == "always" or t not in methods.REDIRECT_TYPES
            ]
    confirmation_method = one_of(
        params.get("confirmation_method"),
        "confirmation_method",
        ("automatic", "manual"),
        "automatic",
    )
    capture_method = one_of(
        params.get("capture_method"),
        "capture_method",
        ("automatic", "automatic_async", "manual"),
        "automatic_async",
    )
    if capture_method == "manual":
        raise ParamError(
            "devstripe does not support capture_method=manual.", param="capture_method"
        )
    confirm = to_bool(params.get("confirm"), "confirm")
    options = _confirm_options(params)
    if not confirm:
        for name in ("return_url", "off_session", "error_on_requires_action", "confirmation_token"):
            if params.get(name) not in (None, ""):
                raise ParamError(
                    f"You passed `{name}` but this parameter can only be used when "
                    "`confirm` is set to `true`.",
                    param=name,
                )
    pm_id = optional_str(params, "payment_method")
    token = None
    if confirm:
        if not pm_id and not optional_str(params, "confirmation_token"):
            raise ParamError(MISSING_PAYMENT_METHOD, code="payment_intent_unexpected_state")
    description = optional_str(params, "description")
    meta = metadata(params.get("metadata"))
    receipt_email = optional_str(params, "receipt_email")

    if confirm:
        pm, token = _plan_confirmation(ctx, params, options, automatic_obj, types, None)
    else:
        pm = payment_method(ctx, pm_id) if pm_id else None
    intent_id = new_id("pi")
    intent = ctx.store.add(
        {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": automatic_obj,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{intent_id}_secret_{random_string(25)}",
            "confirmation_method": confirmation_method,
            "created": now(),
            "currency": currency,
            "customer": None,
            "description": description,
            "excluded_payment_method_types": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": meta,
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": pm["id"] if pm else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": types,
            "processing": None,
            "receipt_email": receipt_email,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_confirmation" if pm else "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
    )
    emit(ctx, "payment_intent.created", intent)
    if confirm:
        pm = _use_token(ctx, intent, pm, token)
        _confirm(ctx, intent, pm, **options)
    return intent


def _plan_confirmation(
    ctx: Ctx,
    params: dict[str, Any],
    options: dict[str, Any],
    automatic: dict[str, Any] | None,
    types: list[str],
    current_pm: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Check a confirmation before anything changes: (the payment_method sent, the
    ConfirmationToken sent). Parameters sent take precedence over the token's, which fill
    in ``options`` (return_url, use_stripe_sdk) where none was sent."""
    pm_id = optional_str(params, "payment_method")
    token_id = optional_str(params, "confirmation_token")
    token = usable_token(ctx, token_id) if token_id else None
    if token is not None:
        if not options["return_url"]:
            options["return_url"] = token["return_url"]
        if params.get("use_stripe_sdk") in (None, ""):
            options["use_stripe_sdk"] = token["use_stripe_sdk"]
    _require_return_url(automatic, options["return_url"])
    pm = payment_method(ctx, pm_id) if pm_id else None
    if pm is not None:
        pm_type = pm["type"]
    elif token is not None:
        pm_type = token["payment_method_preview"]["type"]
    else:
        pm_type = current_pm["type"] if current_pm else "card"
    if pm_type not in types:
        raise ParamError(
            f"The PaymentMethod provided ({pm_type}) is not allowed for this PaymentIntent. "
            "Please attach a PaymentMethod of one of the following types: "
            + ", ".join(types)
            + ". Alternatively update the allowed payment_method_types for this "
            f'PaymentIntent to include "{pm_type}".',
            code="payment_intent_incompatible_payment_method",
            param="confirmation_token" if pm is None and token is not None else "payment_method",
        )
    if pm_type in methods.REDIRECT_TYPES and not options["return_url"]:
        raise ParamError(
            f"A `return_url` must be specified to confirm this PaymentIntent with a "
            f"PaymentMethod of type {pm_type}, which redirects the customer to authorize "
            "the payment.",
            param="return_url",
        )
    return pm, token


def _use_token(
    ctx: Ctx,
    intent: dict[str, Any],
    pm: dict[str, Any] | None,
    token: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """Spend the ConfirmationToken (single use) and write its values onto the intent;
    a payment_method sent with it wins over the token's."""
    if token is None:
        return pm
    token_pm = spend_token(ctx, token, intent["id"])
    if token["shipping"] is not None:
        intent["shipping"] = copy.deepcopy(token["shipping"])
    return pm or token_pm


def _intent(ctx: Ctx, intent_id: str) -> dict[str, Any]:
    return ctx.store.get(intent_id, "payment_intent") or fail(missing("payment_intent", intent_id))


def _unexpected_state(message: str, intent: dict[str, Any]) -> StripeError:
    return StripeError(
        message, code="payment_intent_unexpected_state", payment_intent=copy.deepcopy(intent)
    )


def _assert_confirmable(intent: dict[str, Any]) -> None:
    status = intent["status"]
    if status == "succeeded":
        raise _unexpected_state(
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed.",
            intent,
        )
    if status not in _CONFIRMABLE:
        raise _unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {status}. Only "
            "a PaymentIntent with one of the following statuses may be confirmed: "
            + ", ".join(_CONFIRMABLE)
            + ".",
            intent,
        )


def confirm_payment_intent(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    intent = _intent(ctx, id)
    options = _confirm_options(params)
    pm_id = optional_str(params, "payment_method")
    token_id = optional_str(params, "confirmation_token")
    _assert_confirmable(intent)
    if not pm_id and not token_id and not intent["payment_method"]:
        _require_return_url(intent["automatic_payment_methods"], options["return_url"])
        raise _unexpected_state(MISSING_PAYMENT_METHOD, intent)
    current = ctx.store.get(intent["payment_method"], "payment_method")
    pm, token = _plan_confirmation(
        ctx,
        params,
        options,
        intent["automatic_payment_methods"],
        intent["payment_method_types"],
        current,
    )
    pm = _use_token(ctx, intent, pm, token)
    _confirm(ctx, intent, pm, **options)
    return intent


def _confirm(
    ctx: Ctx,
    intent: dict[str, Any],
    pm: dict[str, Any] | None,
    *,
    return_url: str | None,
    use_stripe_sdk: bool,
    off_session: bool,
    error_on_requires_action: bool,
) -> None:
    if pm is None:
        pm = ctx.store.get(intent["payment_method"], "payment_method") or fail(
            missing("PaymentMethod", str(intent["payment_method"]))
        )
    intent["payment_method"] = pm["id"]
    if pm["type"] in methods.REDIRECT_TYPES:
        _redirect(ctx, intent, pm, return_url or "")
        return
    if pm["type"] in methods.DELAYED_TYPES:
        _start_processing(ctx, intent, pm)
        return
    card = ctx.store.cards[pm["id"]]
    state = ctx.store.intent_state.setdefault(intent["id"], {})
    authenticated = state.get("authenticated") == pm["id"]
    decline = cards.DECLINES.get(card.number)
    if card.number in cards.REQUIRES_3DS and not authenticated:
        if off_session or error_on_requires_action:
            decline = cards.AUTHENTICATION_DECLINE
        else:
            intent.update(
                status="requires_action",
                next_action=_next_action(ctx, intent, return_url, use_stripe_sdk),
                last_payment_error=None,
            )
            emit(ctx, "payment_intent.requires_action", intent)
            return
    _pay_intent(
        ctx, intent, pm, card, decline, state.get("three_d_secure") if authenticated else None
    )


def _next_action(
    ctx: Ctx, intent: dict[str, Any], return_url: str | None, use_stripe_sdk: bool
) -> dict[str, Any]:
    """Where the customer authenticates: devstripe's test 3-D Secure page."""
    page = f"{ctx.base_url}/3ds/{intent['id']}?" + urlencode(
        {"client_secret": intent["client_secret"]}
    )
    if return_url and not use_stripe_sdk:
        return {
            "redirect_to_url": {
                "return_url": return_url,
                "url": page + "&return_url=" + quote(return_url, safe=""),
            },
            "type": "redirect_to_url",
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "source": new_id("src"),
            "stripe_js": page,
            "type": "three_d_secure_redirect",
        },
    }


def _pay_intent(
    ctx: Ctx,
    intent: dict[str, Any],
    pm: dict[str, Any],
    card: Card,
    decline: Decline | None,
    three_d_secure: dict[str, Any] | None = None,
) -> None:
    charge = new_charge(
        ctx,
        amount=intent["amount"],
        currency=intent["currency"],
        description=intent["description"],
        meta=intent["metadata"],
        card=card,
        decline=decline,
        payment_method=pm["id"],
        payment_intent=intent["id"],
        billing_details=pm["billing_details"],
        three_d_secure=three_d_secure,
    )
    intent.update(latest_charge=charge["id"], next_action=None)
    if decline is None:
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        emit(ctx, "payment_intent.succeeded", intent)
        return
    error = declined(decline, charge=charge["id"], payment_method=copy.deepcopy(pm))
    # A failed attempt detaches the payment method, so the next confirm must bring one.
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error=error.body()["error"],
    )
    emit(ctx, "payment_intent.payment_failed", intent)
    error.error["payment_intent"] = copy.deepcopy(intent)
    raise error


# -- payment methods that redirect (amazon_pay) or settle later (us_bank_account) ------


def _redirect(ctx: Ctx, intent: dict[str, Any], pm: dict[str, Any], return_url: str) -> None:
    """The customer must leave for devstripe's redirect page (always ``redirect_to_url``,
    with or without use_stripe_sdk) and come back to return_url."""
    page = f"{ctx.base_url}/redirect/{intent['id']}?" + urlencode(
        {"client_secret": intent["client_secret"]}
    )
    ctx.store.intent_state.setdefault(intent["id"], {})["return_url"] = return_url
    intent.update(
        status="requires_action",
        next_action={
            "redirect_to_url": {"return_url": return_url, "url": page},
            "type": "redirect_to_url",
        },
        last_payment_error=None,
    )
    emit(ctx, "payment_intent.requires_action", intent)


def redirect_return_url(store: Store, intent: dict[str, Any], succeeded: bool) -> str:
    """Where the redirect page sends the customer back: the return_url with Stripe's
    query appended (its own query and #fragment kept)."""
    url = store.intent_state.get(intent["id"], {}).get("return_url") or ""
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    query = urlencode(
        {
            "payment_intent": intent["id"],
            "payment_intent_client_secret": intent["client_secret"],
            "redirect_status": "succeeded" if succeeded else "failed",
        }
    )
    return base + separator + query + hash_mark + fragment


def finish_redirect(
    ctx: Ctx, intent_id: str, client_secret: str, authorized: bool
) -> dict[str, Any]:
    """The customer pressed "Authorize" or "Fail" on the redirect page."""
    intent = intent_for_secret(ctx.store, intent_id, client_secret)
    pm = ctx.store.get(intent["payment_method"], "payment_method")
    next_action = intent["next_action"] or {}
    if (
        intent["status"] != "requires_action"
        or pm is None
        or pm["type"] not in methods.REDIRECT_TYPES
        or next_action.get("type") != "redirect_to_url"
    ):
        raise _unexpected_state(
            f"This PaymentIntent is not awaiting a redirect; its status is {intent['status']}.",
            intent,
        )
    if not authorized:
        _authentication_failed(ctx, intent, pm)
        return intent
    charge = _method_charge(ctx, intent, pm)
    intent.update(
        latest_charge=charge["id"],
        next_action=None,
        status="succeeded",
        amount_received=intent["amount"],
        last_payment_error=None,
    )
    emit(ctx, "payment_intent.succeeded", intent)
    return intent


def _method_charge(
    ctx: Ctx, intent: dict[str, Any], pm: dict[str, Any], pending: bool = False
) -> dict[str, Any]:
    """The charge of a PaymentIntent paid by a method that is not a card (a redirect, a
    bank debit): its details come from the PaymentMethod, never a card's."""
    return new_charge(
        ctx,
        amount=intent["amount"],
        currency=intent["currency"],
        description=intent["description"],
        meta=intent["metadata"],
        card=None,
        decline=None,
        payment_method=pm["id"],
        payment_intent=intent["id"],
        billing_details=pm["billing_details"],
        method_details=methods.charge_details(pm),
        pending=pending,
    )


def _start_processing(ctx: Ctx, intent: dict[str, Any], pm: dict[str, Any]) -> None:
    """A bank debit: the charge is pending, the PaymentIntent processing, until it settles
    (after the processing delay, or POST /_devstripe/payment_intents/:id/settle)."""
    charge = _method_charge(ctx, intent, pm, pending=True)
    intent.update(
        latest_charge=charge["id"], next_action=None, status="processing", last_payment_error=None
    )
    emit(ctx, "payment_intent.processing", intent)
    ctx.settlements.append(intent["id"])


def settle_payment_intent(ctx: Ctx, intent_id: str) -> dict[str, Any]:
    """A processing bank debit settles: succeeded, or failed with the bank's reason
    (the account number decides, see methods.BANK_ACCOUNT_FAILURES)."""
    intent = _intent(ctx, intent_id)
    if intent["status"] != "processing":
        raise _unexpected_state(
            f"This PaymentIntent is not processing; its status is {intent['status']}.", intent
        )
    pm = ctx.store.get(intent["payment_method"], "payment_method") or fail(
        missing("PaymentMethod", str(intent["payment_method"]))
    )
    charge = ctx.store.get(intent["latest_charge"], "charge") or fail(
        missing("charge", str(intent["latest_charge"]))
    )
    failure = methods.bank_failure(ctx.store.bank_accounts.get(pm["id"], ""))
    if failure is None:
        settle_charge(ctx, charge, None)
        intent.update(status="succeeded", amount_received=intent["amount"])
        emit(ctx, "payment_intent.succeeded", intent)
        return intent
    code, message = failure
    settle_charge(ctx, charge, Decline(code, code, message))
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error={
            "code": code,
            "doc_url": doc_url(code),
            "message": message,
            "payment_method": copy.deepcopy(pm),
            "type": "invalid_request_error",
        },
    )
    emit(ctx, "payment_intent.payment_failed", intent)
    return intent


def retrieve_payment_intent(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    intent = _intent(ctx, id)
    if ctx.key_kind != "publishable":
        return intent
    secret = params.get("client_secret")
    if not secret:
        raise StripeError(
            "You must provide the PaymentIntent's client_secret to retrieve it with a "
            "publishable API key.",
            param="client_secret",
        )
    if secret != intent["client_secret"]:
        raise StripeError(
            "The client_secret provided does not match the client_secret associated with the "
            "PaymentIntent.",
            code="payment_intent_invalid_parameter",
            param="client_secret",
        )
    return {name: intent[name] for name in _PUBLISHABLE_FIELDS}


def list_payment_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(ctx.store.newest_first("payment_intent"), params, "/v1/payment_intents")


def search_payment_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return search(ctx, params, "payment_intent", "/v1/payment_intents/search")


def cancel_payment_intent(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    reason = one_of(
        params.get("cancellation_reason"),
        "cancellation_reason",
        ("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
    )
    intent = _intent(ctx, id)
    if intent["status"] not in _CANCELABLE:
        raise _unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
            "be canceled: " + ", ".join(_CANCELABLE) + ".",
            intent,
        )
    intent.update(
        status="canceled", canceled_at=now(), cancellation_reason=reason, next_action=None
    )
    emit(ctx, "payment_intent.canceled", intent)
    return intent


# -- the test 3-D Secure step ---------------------------------------------------


def intent_for_secret(store: Store, intent_id: str, client_secret: str) -> dict[str, Any]:
    intent = store.get(intent_id, "payment_intent")
    if intent is None or not secrets.compare_digest(
        intent["client_secret"].encode(), str(client_secret).encode()
    ):
        raise missing("payment_intent", intent_id)
    return intent


def _authentication_failed(ctx: Ctx, intent: dict[str, Any], pm: dict[str, Any]) -> None:
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        next_action=None,
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "doc_url": doc_url("payment_intent_authentication_failure"),
            "message": AUTHENTICATION_FAILURE,
            "payment_method": copy.deepcopy(pm),
            "type": "invalid_request_error",
        },
    )
    emit(ctx, "payment_intent.payment_failed", intent)


def finish_authentication(
    ctx: Ctx, intent_id: str, client_secret: str, authenticated: bool
) -> dict[str, Any]:
    """The customer pressed "Complete" or "Fail" on the test 3-D Secure page."""
    intent = intent_for_secret(ctx.store, intent_id, client_secret)
    pm = ctx.store.get(intent["payment_method"], "payment_method")
    if intent["status"] != "requires_action" or pm is None or pm["type"] != "card":
        raise _unexpected_state(
            f"This PaymentIntent is not awaiting authentication; its status is {intent['status']}.",
            intent,
        )
    card = ctx.store.cards[pm["id"]]
    if not authenticated:
        _authentication_failed(ctx, intent, pm)
        return intent
    state = ctx.store.intent_state.setdefault(intent_id, {})
    state["authenticated"] = pm["id"]
    state["three_d_secure"] = {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05",
        "exemption_indicator": None,
        "result": "authenticated",
        "result_reason": None,
        "transaction_id": str(uuid.uuid4()),
        "version": "2.2.0",
    }
    if intent["confirmation_method"] == "manual":
        # Manual confirmation: the server confirms again; Stripe sends no
        # webhook for this requires_action -> requires_confirmation step.
        intent.update(status="requires_confirmation", next_action=None)
        return intent
    _pay_intent(ctx, intent, pm, card, cards.DECLINES.get(card.number), state["three_d_secure"])
    return intent
