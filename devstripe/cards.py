"""Stripe's test cards: numbers, magic tokens and payment methods, their
outcomes, and the card shapes tokens, payment methods and charges carry.

Outcomes follow https://docs.stripe.com/testing (declined payments, 3-D Secure).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ParamError

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
GENERIC_DECLINE = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
LOST_CARD = "4000000000009987"
STOLEN_CARD = "4000000000009979"
EXPIRED_CARD = "4000000000000069"
INCORRECT_CVC = "4000000000000127"
PROCESSING_ERROR = "4000000000000119"
RADAR_BLOCK = "4100000000000019"
AUTHENTICATION_REQUIRED = "4000002760003184"
THREE_D_SECURE_2_REQUIRED = "4000000000003220"


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str
    param: str | None = None
    blocked_by_radar: bool = False

    def charge_outcome(self) -> dict[str, Any]:
        if self.blocked_by_radar:
            return _outcome(
                "not_sent_to_network",
                "highest_risk_level",
                "highest",
                95,
                "Stripe blocked this payment as too risky.",
                "blocked",
            )
        seller = (
            "The bank did not return any further details with this decline."
            if self.decline_code == "generic_decline"
            else f"The bank returned the decline code `{self.decline_code}`."
        )
        return _outcome(
            "declined_by_network", self.decline_code, "normal", 32, seller, "issuer_declined"
        )


def _outcome(network_status, reason, risk_level, risk_score, seller_message, type_):
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": network_status,
        "reason": reason,
        "risk_level": risk_level,
        "risk_score": risk_score,
        "seller_message": seller_message,
        "type": type_,
    }


APPROVED_OUTCOME = _outcome(
    "approved_by_network", None, "normal", 32, "Payment complete.", "authorized"
)

_DECLINED = "Your card was declined."
DECLINES: dict[str, Decline] = {
    GENERIC_DECLINE: Decline("card_declined", "generic_decline", _DECLINED),
    INSUFFICIENT_FUNDS: Decline(
        "card_declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    LOST_CARD: Decline("card_declined", "lost_card", _DECLINED),
    STOLEN_CARD: Decline("card_declined", "stolen_card", _DECLINED),
    EXPIRED_CARD: Decline("expired_card", "expired_card", "Your card has expired.", "exp_month"),
    INCORRECT_CVC: Decline(
        "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"
    ),
    PROCESSING_ERROR: Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    RADAR_BLOCK: Decline("card_declined", "fraudulent", _DECLINED, blocked_by_radar=True),
}

# What a card that needs 3-D Secure does where nobody can authenticate: the
# Charges API, or a PaymentIntent confirmed off-session / error_on_requires_action.
AUTHENTICATION_DECLINE = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)

REQUIRES_3DS = {AUTHENTICATION_REQUIRED, THREE_D_SECURE_2_REQUIRED}

MAGIC_TOKENS = {
    "tok_visa": VISA,
    "tok_visa_debit": "4000056655665556",
    "tok_mastercard": MASTERCARD,
    "tok_mastercard_debit": "5200828282828210",
    "tok_amex": AMEX,
    "tok_chargeDeclined": GENERIC_DECLINE,
    "tok_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "tok_chargeDeclinedLostCard": LOST_CARD,
    "tok_chargeDeclinedStolenCard": STOLEN_CARD,
    "tok_chargeDeclinedExpiredCard": EXPIRED_CARD,
    "tok_chargeDeclinedIncorrectCvc": INCORRECT_CVC,
    "tok_chargeDeclinedFraudulent": RADAR_BLOCK,
    "tok_chargeDeclinedProcessingError": PROCESSING_ERROR,
}

MAGIC_PAYMENT_METHODS = {
    "pm_card_visa": VISA,
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": MASTERCARD,
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": AMEX,
    "pm_card_authenticationRequired": AUTHENTICATION_REQUIRED,
    "pm_card_threeDSecure2Required": THREE_D_SECURE_2_REQUIRED,
}
for _name, _number in [
    ("chargeDeclined", GENERIC_DECLINE),
    ("chargeDeclinedInsufficientFunds", INSUFFICIENT_FUNDS),
    ("chargeDeclinedLostCard", LOST_CARD),
    ("chargeDeclinedStolenCard", STOLEN_CARD),
    ("chargeDeclinedExpiredCard", EXPIRED_CARD),
    ("chargeDeclinedIncorrectCvc", INCORRECT_CVC),
    ("chargeDeclinedFraudulent", RADAR_BLOCK),
    ("chargeDeclinedProcessingError", PROCESSING_ERROR),
]:
    # Stripe's docs name them both ways: pm_card_chargeDeclined and pm_card_visa_chargeDeclined.
    MAGIC_PAYMENT_METHODS[f"pm_card_{_name}"] = _number
    MAGIC_PAYMENT_METHODS[f"pm_card_visa_{_name}"] = _number

_FUNDING = {
    "4000056655665556": "debit",
    "5200828282828210": "debit",
    "5105105105105100": "prepaid",
}


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str | None = None
    name: str | None = None
    address: dict[str, str | None] = field(default_factory=dict)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> tuple[str, str]:
        """(Charges API spelling, PaymentMethod spelling), e.g. ("MasterCard", "mastercard")."""
        n = self.number
        if n.startswith("4"):
            return "Visa", "visa"
        if n[:2] in ("34", "37"):
            return "American Express", "amex"
        if 51 <= int(n[:2]) <= 55 or 2221 <= int(n[:4]) <= 2720:
            return "MasterCard", "mastercard"
        if n.startswith(("6011", "65")) or 644 <= int(n[:3]) <= 649:
            return "Discover", "discover"
        if n[:2] in ("36", "38", "39") or 300 <= int(n[:3]) <= 305:
            return "Diners Club", "diners"
        if 3528 <= int(n[:4]) <= 3589:
            return "JCB", "jcb"
        if n.startswith("62"):
            return "UnionPay", "unionpay"
        return "Unknown", "unknown"

    @property
    def funding(self) -> str:
        return _FUNDING.get(self.number, "credit")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(b"devstripe:" + self.number.encode()).hexdigest()[:16]


def magic_card(number: str) -> Card:
    return Card(number=number, exp_month=12, exp_year=time.gmtime().tm_year + 1, cvc="123")


def luhn_ok(number: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_error(message: str, code: str, param: str) -> ParamError:
    return ParamError(message, status=402, type="card_error", code=code, param=param)


def parse_card(raw: Any, prefix: str = "card") -> Card:
    """Validate raw card parameters the way Stripe does when it tokenizes them."""
    if not isinstance(raw, dict):
        raise ParamError("Invalid object", param=prefix)
    for name in ("number", "exp_month", "exp_year"):
        if raw.get(name) in (None, ""):
            raise ParamError(
                f"Missing required param: {prefix}[{name}].",
                code="parameter_missing",
                param=f"{prefix}[{name}]",
            )
    number = str(raw["number"]).replace(" ", "").replace("-", "")
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise _card_error("Your card number is invalid.", "invalid_number", "number")
    if not luhn_ok(number):
        raise _card_error("Your card number is incorrect.", "incorrect_number", "number")

    month_text, year_text = str(raw["exp_month"]).strip(), str(raw["exp_year"]).strip()
    if not month_text.isdigit() or not 1 <= int(month_text) <= 12:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "exp_month"
        )
    if not year_text.isdigit():
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", "exp_year"
        )
    month, year = int(month_text), int(year_text)
    if year < 100:
        year += 2000
    now = time.gmtime()
    if not now.tm_year <= year <= now.tm_year + 50:
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", "exp_year"
        )
    if year == now.tm_year and month < now.tm_mon:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "exp_month"
        )

    cvc = raw.get("cvc")
    if cvc not in (None, ""):
        cvc = str(cvc)
        if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
            raise _card_error("Your card's security code is invalid.", "invalid_cvc", "cvc")
    address = {
        key: raw.get(f"address_{key}") or None
        for key in ("line1", "line2", "city", "state", "zip", "country")
    }
    return Card(number, month, year, cvc or None, raw.get("name") or None, address)


def cvc_check(card: Card, number_decline: Decline | None) -> str | None:
    if card.cvc is None:
        return None
    return "fail" if number_decline and number_decline.code == "incorrect_cvc" else "pass"


def card_object(card_id: str, card: Card, cvc_check: str | None) -> dict[str, Any]:
    """The Charges API ``card`` object (a token's card, a charge's source)."""
    address = card.address
    return {
        "id": card_id,
        "object": "card",
        "address_city": address.get("city"),
        "address_country": address.get("country"),
        "address_line1": address.get("line1"),
        "address_line1_check": "unchecked" if address.get("line1") else None,
        "address_line2": address.get("line2"),
        "address_state": address.get("state"),
        "address_zip": address.get("zip"),
        "address_zip_check": "unchecked" if address.get("zip") else None,
        "brand": card.brand[0],
        "country": "US",
        "cvc_check": cvc_check,
        "dynamic_last4": None,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "last4": card.last4,
        "metadata": {},
        "name": card.name,
        "networks": {"preferred": None},
        "tokenization_method": None,
        "wallet": None,
    }


def payment_method_card(card: Card) -> dict[str, Any]:
    """A PaymentMethod's ``card`` hash."""
    brand = card.brand[1]
    return {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "unchecked" if card.cvc else None,
        },
        "country": "US",
        "display_brand": brand,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "generated_from": None,
        "last4": card.last4,
        "networks": {"available": [brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def charge_card_details(
    card: Card,
    amount: int,
    paid: bool,
    cvc_result: str | None,
    three_d_secure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A charge's ``payment_method_details.card``."""
    brand = card.brand[1]
    return {
        "amount_authorized": amount if paid else None,
        "authorization_code": None,
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": cvc_result,
        },
        "country": "US",
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card.last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": brand,
        "network_token": {"used": False},
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": three_d_secure,
        "wallet": None,
    }
