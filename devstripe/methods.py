"""Payment method types besides cards: ``amazon_pay`` (the customer leaves for a redirect
page and comes back) and ``us_bank_account`` (ACH Direct Debit: ``processing``, settled
later). Their test data follows https://docs.stripe.com/testing and
https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment (test account numbers).

devstripe offers them in every currency (Stripe: Amazon Pay in a few, ACH in usd only).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .errors import ParamError

TYPES = ("card", "amazon_pay", "us_bank_account")
# Types that send the customer away to authorize: confirming needs a return_url.
REDIRECT_TYPES = ("amazon_pay",)
# Types that confirm into `processing` and settle later.
DELAYED_TYPES = ("us_bank_account",)

TEST_ROUTING_NUMBER = "110000000"
SUCCEEDS = "000123456789"
# Account number -> (failure code, message) once the debit settles.
BANK_ACCOUNT_FAILURES: dict[str, tuple[str, str]] = {
    "000111111113": ("account_closed", "The customer's bank account has been closed."),
    "000111111116": ("no_account", "The customer's bank account could not be located."),
    "000222222227": (
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    "000333333335": (
        "debit_not_authorized",
        "The customer has notified their bank that this payment was unauthorized.",
    ),
}


def _missing(name: str) -> ParamError:
    return ParamError(f"Missing required param: {name}.", code="parameter_missing", param=name)


def parse_bank_account(raw: Any, prefix: str = "us_bank_account") -> tuple[str, dict[str, Any]]:
    """(account number, the PaymentMethod's ``us_bank_account`` hash) from raw parameters."""
    if not isinstance(raw, dict):
        raise _missing(f"{prefix}[account_number]")
    for name in ("routing_number", "account_number"):
        if raw.get(name) in (None, ""):
            raise _missing(f"{prefix}[{name}]")
    routing = str(raw["routing_number"]).strip()
    account = str(raw["account_number"]).strip()
    if not (routing.isdigit() and len(routing) == 9):
        raise ParamError(
            "Invalid routing number: it must have 9 digits.", param=f"{prefix}[routing_number]"
        )
    if not (account.isdigit() and 4 <= len(account) <= 17):
        raise ParamError(
            "Invalid account number: it must have 4 to 17 digits.",
            param=f"{prefix}[account_number]",
        )
    holder = raw.get("account_holder_type") or "individual"
    if holder not in ("individual", "company"):
        raise ParamError(
            "Invalid account_holder_type: must be one of `individual`, `company`",
            param=f"{prefix}[account_holder_type]",
        )
    account_type = raw.get("account_type") or "checking"
    if account_type not in ("checking", "savings"):
        raise ParamError(
            "Invalid account_type: must be one of `checking`, `savings`",
            param=f"{prefix}[account_type]",
        )
    return account, {
        "account_holder_type": holder,
        "account_type": account_type,
        "bank_name": "STRIPE TEST BANK" if routing == TEST_ROUTING_NUMBER else "DEVSTRIPE BANK",
        "financial_connections_account": None,
        "fingerprint": hashlib.sha256(f"devstripe:{routing}:{account}".encode()).hexdigest()[:16],
        "last4": account[-4:],
        "networks": {"preferred": "ach", "supported": ["ach"]},
        "routing_number": routing,
        "status_details": {},
    }


def bank_failure(account_number: str) -> tuple[str, str] | None:
    """How a debit from this account settles: None (succeeds) or (code, message)."""
    return BANK_ACCOUNT_FAILURES.get(account_number)


def charge_details(pm: dict[str, Any]) -> dict[str, Any]:
    """A charge's ``payment_method_details`` for a non-card PaymentMethod."""
    if pm["type"] == "us_bank_account":
        bank = pm["us_bank_account"]
        return {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": bank["account_holder_type"],
                "account_type": bank["account_type"],
                "bank_name": bank["bank_name"],
                "expected_debit_date": None,
                "fingerprint": bank["fingerprint"],
                "last4": bank["last4"],
                "mandate": None,
                "payment_reference": None,
                "routing_number": bank["routing_number"],
            },
        }
    return {"type": pm["type"], pm["type"]: {"funding": None}}


def unknown_type(pm_type: Any, param: str) -> ParamError:
    return ParamError(
        f"Invalid {param}: must be one of "
        + ", ".join(f"`{t}`" for t in TYPES)
        + f" (devstripe supports these payment method types, not `{pm_type}`).",
        param=param,
    )
