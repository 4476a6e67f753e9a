"""Limits on payment attempts, so that the shop is no free card-testing service.

Every POST that may reach Stripe with a card (placing an order, paying it again) counts
against the shopper and against the client's address (confirm/, which only looks
payments up, has a generous limit of its own); a shopper whose cards were
declined several times within the hour is held back further until the hour has passed.
Counts live in the cache, which production shares between instances (Redis or the
database). A refusal is a 429 with Retry-After and a sentence for the shopper.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from stripedemo.throttling import ClientAddressThrottleMixin

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

TOO_MANY = "Too many payment attempts. Please wait {seconds} seconds before trying again."
TOO_MANY_DECLINES = (
    "Several of your cards were declined, so payments are paused for your account. "
    "Please wait {minutes} minutes before trying again."
)


class PaymentThrottle(SimpleRateThrottle):
    message = TOO_MANY
    setting: str  # the name of the setting that holds the rate, in each subclass

    def get_rate(self) -> str:
        # Read at request time, so that the limit is a plain setting (and testable).
        return getattr(settings, self.setting)

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        seconds = max(1, math.ceil(self.wait() or 1))
        raise Throttled(
            wait=seconds,
            detail=self.message.format(seconds=seconds, minutes=math.ceil(seconds / 60)),
        )


class ShopperPaymentThrottle(PaymentThrottle):
    scope = "payment_shopper"
    setting = "PAYMENT_THROTTLE_RATE"

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AddressPaymentThrottle(ClientAddressThrottleMixin, PaymentThrottle):
    scope = "payment_address"
    setting = "PAYMENT_ADDRESS_THROTTLE_RATE"

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class DeclineThrottle(PaymentThrottle):
    """Counts only declines (recorded by `record_decline`), and refuses past the limit."""

    scope = "payment_declines"
    setting = "PAYMENT_DECLINE_LIMIT"
    message = TOO_MANY_DECLINES

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def throttle_success(self) -> bool:
        return True  # a request is no decline: only record_decline counts


def record_decline(request: Request) -> None:
    """A card of this shopper was declined: one more toward DeclineThrottle's limit."""
    throttle = DeclineThrottle()
    throttle.rate = throttle.get_rate()
    throttle.num_requests, throttle.duration = throttle.parse_rate(throttle.rate)
    key = throttle.get_cache_key(request, None)
    now = throttle.timer()
    # duration is None only for a None rate; PAYMENT_DECLINE_LIMIT is always a rate string.
    history = [moment for moment in throttle.cache.get(key, []) if moment > now - throttle.duration]  # type: ignore[operator]
    throttle.cache.set(key, [now, *history], throttle.duration)


class ConfirmThrottle(PaymentThrottle):
    """confirm/ asks Stripe while a bank step may have just ended: per shopper, generous."""

    scope = "payment_confirm"
    setting = "PAYMENT_CONFIRM_RATE"
    message = "Too many requests about this payment. Please wait {seconds} seconds."

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


PAYMENT_THROTTLES = [ShopperPaymentThrottle, AddressPaymentThrottle, DeclineThrottle]
