"""A receipt for every paid order, emailed once: compose, claim, send, record.

The order's move to PAID (orders.settlement) records, in that same UPDATE, when it was
paid, the card and Stripe's receipt page when Stripe's answer carried them, and a claim
on the receipt for the process that made the move (`receipt_claimed_until`). Once that
transaction has committed, the receipt goes to a background thread of the process: the
shopper's answer never waits for the mail server, and a mail server's error is only
logged. `reconcile_orders` sends, at every run, the receipts still due: paid, not sent,
and no claim running (its sender died, or the mail server failed and the claim was let
go).

Exactly once. A sender sends only while it holds the claim. The order's one move to
PAID gives it to the process that moved it; any other sender (reconcile, another
instance, a second thread) takes it with one conditional UPDATE (… WHERE
receipt_sent_at IS NULL AND the claim is free or has run out), which exactly one of any
number of racing senders wins, on every database. The receipt is recorded as sent
(`receipt_sent_at`) as soon as the mail server has accepted it; a failed send lets the
claim go, for the next run.

The one window left: the mail server accepted the message and the process died (or
lost the database) before recording it. Then the receipt is sent again once the claim
has run out: at least once there, exactly once everywhere else. No sender can do
better: SMTP has no idempotency key to make a repeat harmless, and the server's
acceptance and our record are two systems that cannot commit together, so a sender that
comes after a crash cannot tell "accepted, not recorded" from "never accepted".

A receipt is for a payment the shop holds: an order refunded before its receipt went
out gets none (the shopper learns of the refund instead), nor does one never seen PAID.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from catalog.currency import exponent
from orders import payments
from orders.models import Order

log = logging.getLogger("orders.receipts")

# A receipt not sent within a week of the payment is given up (an address the mail
# server keeps refusing is not retried forever). Orders paid before receipts existed have
# no paid_at, and are never due.
RECEIPT_WINDOW = timedelta(days=7)
# Receipts one reconcile run sends at most, and for how long it goes on sending: a slow
# mail server must not hold the run past systemd's limit (10 minutes, README). The others
# wait for the next run.
BATCH_SIZE = 100
BATCH_SECONDS = 180
# The exchanges with the mail server one message takes at most (connect, EHLO, STARTTLS,
# EHLO, AUTH, MAIL, RCPT, DATA, the message, QUIT), each within EMAIL_TIMEOUT.
SMTP_EXCHANGES = 10
# The background threads of a process that send receipts after payments: enough for a
# burst of payments, and a bound on the mail server's connections from one process.
BACKGROUND_THREADS = 2

CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos Australia",
    "interac": "Interac",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


# -- what a receipt says --------------------------------------------------------------


def format_amount(amount: int, currency: str) -> str:
    """An amount in the smallest unit, with the currency's own decimals (catalog.currency):
    1999 usd is "19.99 USD", 500 jpy "500 JPY", 1250 kwd "1.250 KWD"."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):,.{places}f} {currency.upper()}"


def card_description(brand: str, last4: str) -> str:
    """The card as a receipt names it ("Visa ending in 4242"); "" when Stripe gave none."""
    if not last4:
        return ""
    name = CARD_BRANDS.get(brand) or (brand.replace("_", " ").title() if brand else "Card")
    return f"{name} ending in {last4}"


def compose(order: Order) -> EmailMessage:
    """The receipt of a paid order (its user and product loaded), as an email to its
    shopper. Plain text: every mail client shows it as written."""
    context = {
        "name": order.user.first_name,
        "order_id": order.pk,
        "product": order.product.name,
        "quantity": order.quantity,
        "amount": format_amount(order.amount, order.currency),
        "paid_at": order.paid_at or timezone.now(),
        "card": card_description(order.card_brand, order.card_last4),
        "receipt_url": order.receipt_url,
    }
    return EmailMessage(
        subject=f"Your receipt for order {order.pk}",
        body=render_to_string("orders/receipt.txt", context),
        to=[order.user.email],
    )


# -- claims ---------------------------------------------------------------------------


def send_budget() -> timedelta:
    """The longest a sender may take from starting on a receipt to recording it: Stripe
    asked for the card (every try of the SDK), and the mail server's exchanges."""
    stripe_seconds = settings.STRIPE_TIMEOUT * (settings.STRIPE_MAX_NETWORK_RETRIES + 1)
    mail_seconds = (settings.EMAIL_TIMEOUT or 60) * SMTP_EXCHANGES
    return timedelta(seconds=stripe_seconds + mail_seconds + 30)


def claim_lease() -> timedelta:
    """How long a claim keeps the other senders off: one send, and as long again for
    waiting in the background queue (a sender that waited longer claims anew)."""
    return 2 * send_budget()


def paid_fields(payment: payments.StripePayment) -> dict[str, Any]:
    """What the order's move to PAID records for its receipt, in that same UPDATE: when
    it was paid, the card and receipt page `payment` carries, and the claim on the
    receipt for the process making the move (see `send_when_committed`)."""
    now = timezone.now()
    fields: dict[str, Any] = {"paid_at": now, "receipt_claimed_until": now + claim_lease()}
    card = {
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
        "receipt_url": payment.receipt_url,
    }
    fields.update({name: value for name, value in card.items() if value})
    return fields


def _due() -> QuerySet[Order]:
    """Orders whose receipt is still to be sent (whoever may hold its claim). No join:
    the claim's UPDATE must stay one statement (MySQL would first SELECT the rows of an
    UPDATE that joins, and the condition would no longer decide atomically)."""
    return Order.objects.filter(
        status=Order.Status.PAID,
        receipt_sent_at__isnull=True,
        paid_at__gte=timezone.now() - RECEIPT_WINDOW,
    )


def _claim(order_id: int, *, renewing: datetime | None = None) -> datetime | None:
    """Take the receipt's claim (free, run out, or `renewing`, ours); its end, or None
    when another sender holds it or the receipt is no longer due."""
    now = timezone.now()
    free = Q(receipt_claimed_until__isnull=True) | Q(receipt_claimed_until__lt=now)
    if renewing is not None:
        free |= Q(receipt_claimed_until=renewing)
    until = now + claim_lease()
    taken = _due().filter(free, pk=order_id).update(receipt_claimed_until=until)
    return until if taken else None


def _let_go(order_id: int, claimed_until: datetime) -> None:
    """Free our claim at once, so that the next reconcile run tries again."""
    Order.objects.filter(
        pk=order_id, receipt_sent_at__isnull=True, receipt_claimed_until=claimed_until
    ).update(receipt_claimed_until=None)


def _record_sent(order_id: int, **card: str) -> None:
    Order.objects.filter(pk=order_id, receipt_sent_at__isnull=True).update(
        receipt_sent_at=timezone.now(), receipt_claimed_until=None, **card
    )


# -- sending --------------------------------------------------------------------------


def _order_for_receipt(order_id: int) -> Order | None:
    return Order.objects.select_related("user", "product").filter(pk=order_id).first()


def _card_from_stripe(order: Order) -> dict[str, str] | None:
    """The card and receipt page of the order's charge, asked of Stripe when the answer
    that paid it did not carry them (a PaymentIntent's confirmation). None when Stripe
    cannot be reached: the receipt waits for it rather than go out without the card."""
    if order.card_last4 or not order.stripe_charge_id:
        return {}
    try:
        charge = payments.retrieve_charge(order.stripe_charge_id)
    except payments.PaymentUnavailable:
        return None
    except payments.PaymentError as error:  # Stripe knows no such charge: send without it
        log.warning(
            "receipt sent without the card: Stripe refused to show the charge",
            extra={"order_id": order.pk, "error_code": error.code},
        )
        return {}
    card = {
        "card_brand": charge.card_brand,
        "card_last4": charge.card_last4,
        "receipt_url": charge.receipt_url,
    }
    return {name: value for name, value in card.items() if value}


def _deliver(order: Order, claimed_until: datetime, mail: BaseEmailBackend | None = None) -> bool:
    """Send the receipt of `order`, whose claim we hold until `claimed_until`, and record
    it. False, with the claim let go, when it could not be sent."""
    if not order.user.email:  # not selected by reconcile (send_due_receipts) either
        log.warning(
            "receipt not sent: the shopper has no email address", extra={"order_id": order.pk}
        )
        return False
    card = _card_from_stripe(order)
    if card is None:
        log.warning("receipt waits: Stripe could not be reached", extra={"order_id": order.pk})
        _let_go(order.pk, claimed_until)
        return False
    for name, value in card.items():
        setattr(order, name, value)
    message = compose(order)
    try:
        sent = message.send() if mail is None else mail.send_messages([message])
    except Exception as error:  # any backend's failure: the payment is not the mail's
        log.warning(
            "receipt not sent: the mail server failed",
            extra={"order_id": order.pk, "error_class": type(error).__name__},
        )
        if mail is not None:
            _close(mail)  # the next receipt of the batch starts a new connection
        _let_go(order.pk, claimed_until)
        return False
    if not sent:
        log.warning("receipt not sent: the mail backend took nothing", extra={"order_id": order.pk})
        _let_go(order.pk, claimed_until)
        return False
    # Accepted by the mail server. A crash before the next line sends it again once the
    # claim has run out (the module's docstring): the one window of at-least-once.
    _record_sent(order.pk, **card)
    log.info("receipt sent", extra={"order_id": order.pk})
    return True


def send_receipt(order_id: int, mail: BaseEmailBackend | None = None) -> bool:
    """Send an order's receipt now if it is due and nobody else holds its claim.

    True when this call sent it. Errors of the mail server are logged, never raised."""
    claimed_until = _claim(order_id)
    if claimed_until is None:
        return False
    order = _order_for_receipt(order_id)
    if order is None:
        return False
    return _deliver(order, claimed_until, mail)


@dataclass(frozen=True)
class ReceiptRun:
    sent: int  # by this run
    not_sent: int  # of those it found due, still due after it (for the next run)


def send_due_receipts(limit: int = BATCH_SIZE, seconds: float = BATCH_SECONDS) -> ReceiptRun:
    """Send the receipts due whose claim is free or has run out, oldest payment first, at
    most `limit` and none started after `seconds`, over one connection to the mail server
    (reconcile_orders' work)."""
    now = timezone.now()
    deadline = time.monotonic() + seconds
    free = Q(receipt_claimed_until__isnull=True) | Q(receipt_claimed_until__lt=now)
    due = list(
        _due()
        .filter(free)
        .exclude(user__email="")
        .order_by("paid_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return ReceiptRun(sent=0, not_sent=0)
    mail = get_connection()
    try:
        mail.open()
    except Exception as error:  # every receipt would fail the same way: leave them due
        log.warning(
            "receipts not sent: the mail server could not be reached",
            extra={"error_class": type(error).__name__, "receipts_due": len(due)},
        )
        return ReceiptRun(sent=0, not_sent=len(due))
    sent = 0
    try:
        for order_id in due:
            if time.monotonic() > deadline:
                break
            sent += send_receipt(order_id, mail)
    finally:
        _close(mail)
    # Still due: failed, or claimed by another sender that has not finished yet.
    return ReceiptRun(sent=sent, not_sent=_due().filter(pk__in=due).count())


def _close(mail: BaseEmailBackend) -> None:
    try:
        mail.close()
    except Exception as error:  # a connection that broke: nothing left to close
        log.info("mail connection closed uncleanly", extra={"error_class": type(error).__name__})


# -- in the background, after the payment has committed -------------------------------


def send_when_committed(order_id: int, claimed_until: datetime) -> None:
    """Send the receipt whose claim the caller's transaction takes (`paid_fields`), in the
    background once that transaction has committed; nothing if it rolls back."""
    transaction.on_commit(partial(_hand_to_background, order_id, claimed_until), robust=True)


class _Background:
    """This process's threads sending receipts, and what they have yet to do."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: futures.ThreadPoolExecutor | None = None
        self.pid = 0
        self.pending: set[futures.Future[None]] = set()

    def submit(self, order_id: int, claimed_until: datetime) -> None:
        with self.lock:
            if self.executor is None or self.pid != os.getpid():  # none yet, or forked
                self.executor = futures.ThreadPoolExecutor(
                    max_workers=BACKGROUND_THREADS, thread_name_prefix="receipts"
                )
                self.pid = os.getpid()
                self.pending = set()
            future = self.executor.submit(_send_claimed, order_id, claimed_until)
            self.pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: futures.Future[None]) -> None:
        with self.lock:
            self.pending.discard(future)

    def wait(self, timeout: float) -> bool:
        with self.lock:
            pending = list(self.pending)
        _, not_done = futures.wait(pending, timeout=timeout)
        return not not_done


_background = _Background()


# The backend settings choose when no mail server is configured (stripedemo.mail).
UNSENT_BACKEND = "stripedemo.mail.UnsentEmailBackend"


def _hand_to_background(order_id: int, claimed_until: datetime) -> None:
    if settings.EMAIL_BACKEND == UNSENT_BACKEND:
        # No mail server: reading, rendering and "sending" a receipt that cannot leave
        # would cost every paid order for nothing. It stays due; once its claim runs out,
        # reconcile_orders sends it (after EMAIL_HOST is set).
        log.warning(
            "receipt not sent: no mail server is configured (EMAIL_HOST)",
            extra={"order_id": order_id},
        )
        return
    try:
        _background.submit(order_id, claimed_until)
    except RuntimeError:  # the interpreter is shutting down: reconcile sends it later
        log.warning("receipt left for reconcile_orders", extra={"order_id": order_id})


def wait_for_background_sends(timeout: float) -> bool:
    """Wait until the receipts handed to this process's background threads are dealt
    with (reconcile_orders before it exits, tests). True when they all are."""
    return _background.wait(timeout)


def _send_claimed(order_id: int, claimed_until: datetime) -> None:
    """A background thread's work: send a receipt whose claim the move to PAID took."""
    try:
        order = _order_for_receipt(order_id)
        if order is None or order.receipt_sent_at is not None:
            return
        if order.receipt_claimed_until != claimed_until:
            return  # the claim ran out while this waited, and another sender took it
        if claimed_until - timezone.now() < send_budget():
            # Waited in the queue too long to finish within the claim: take it anew.
            renewed = _claim(order_id, renewing=claimed_until)
            if renewed is None:
                return
            claimed_until = renewed
        _deliver(order, claimed_until)
    except Exception:  # a thread's error would otherwise go unseen
        log.exception("receipt not sent: unexpected error", extra={"order_id": order_id})
    finally:
        connections.close_all()  # this thread's own connections
