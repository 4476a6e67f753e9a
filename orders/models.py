"""Orders, the attempts to pay them, and the records that make retries safe.

An order's status only moves forward (see `settlement.transition`):

    PENDING ──► PAID ──► REFUNDED
       │          ▲
       └─► FAILED ┘   (a later attempt on the same order succeeded)
"""

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models

from stripedemo.fields import ExactCharField

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class OrderQuerySet(models.QuerySet):
    def with_payment_state(self) -> Self:
        """Orders with their products, whether an attempt's outcome is still unknown and
        whether Stripe is processing one, in one query (the order's JSON says all)."""
        unsettled = PaymentAttempt.objects.filter(
            order=models.OuterRef("pk"),
            status__in=[PaymentAttempt.Status.STARTED, PaymentAttempt.Status.UNKNOWN],
        )
        processing = PaymentAttempt.objects.filter(
            order=models.OuterRef("pk"), status=PaymentAttempt.Status.PROCESSING
        )
        return self.select_related("product").annotate(
            has_unsettled_attempt=models.Exists(unsettled),
            has_processing_attempt=models.Exists(processing),
        )

    def for_user(self, user: "User") -> Self:
        """A shopper's orders, newest first."""
        return self.filter(user=user).with_payment_state().order_by("-created", "-id")


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        PAID = "PAID"
        FAILED = "FAILED"
        REFUNDED = "REFUNDED"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveSmallIntegerField()
    # Fixed when the order is placed: price × quantity in the smallest currency unit.
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_charge_id = ExactCharField(max_length=255, blank=True, db_index=True)
    # The order's one PaymentIntent, ever: every attempt with a card confirms it.
    stripe_payment_intent_id = ExactCharField(max_length=255, blank=True, db_index=True)
    # The Stripe idempotency key that creates that PaymentIntent, chosen under the order's
    # row lock and saved before Stripe is asked: repeating the creation, from any process,
    # returns the same PaymentIntent instead of making a second one.
    payment_intent_key = ExactCharField(max_length=255, blank=True)
    stripe_refund_id = ExactCharField(max_length=255, blank=True)
    # Saved before the refund is asked of Stripe, so that a retried refund is the same one.
    refund_idempotency_key = ExactCharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Set by the order's move to PAID, in the same UPDATE (orders.settlement), for its
    # receipt (orders.receipts): when it was paid, and the card and Stripe's receipt page
    # when Stripe's answer carried them (else looked up when the receipt is sent).
    paid_at = models.DateTimeField(null=True, blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    receipt_url = models.CharField(max_length=500, blank=True)
    # The emailed receipt: sent once (when), and which sender may send it until when. A
    # sender sends only while it holds this claim (see orders.receipts).
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    receipt_claimed_until = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    # An attempt's outcome is unknown, and an attempt is being processed by Stripe:
    # annotated by OrderQuerySet.with_payment_state(), or set by the code that has just
    # settled the order's one open attempt.
    has_unsettled_attempt: bool
    has_processing_attempt: bool

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["user", "-created", "-id"], name="order_user_newest"),
            models.Index(fields=["status", "updated"], name="order_status_updated"),
            # The receipts due: paid, not sent, paid recently (orders.receipts).
            models.Index(fields=["status", "receipt_sent_at", "paid_at"], name="order_receipt_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=settings.ORDER_MAX_QUANTITY),
                name=f"order_quantity_1_to_{settings.ORDER_MAX_QUANTITY}",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"

    def outcome_unknown(self) -> bool:
        """An attempt of this order is of unknown outcome (being settled from Stripe)."""
        known = getattr(self, "has_unsettled_attempt", None)
        if known is None:  # not loaded through Order.objects.with_payment_state()
            known = self.attempts.filter(
                status__in=[PaymentAttempt.Status.STARTED, PaymentAttempt.Status.UNKNOWN]
            ).exists()
        return bool(known)

    def payment_processing(self) -> bool:
        """Stripe is processing an attempt's payment (a bank debit, say): the order settles
        by webhook, maybe minutes or days later. A failed order paid again by a bank debit
        is one too: it stays FAILED (orders never go back to PENDING) until the debit
        pays it or fails with its own reason."""
        if self.status not in (Order.Status.PENDING, Order.Status.FAILED):
            return False
        known = getattr(self, "has_processing_attempt", None)
        if known is None:  # not loaded through Order.objects.with_payment_state()
            known = self.attempts.filter(status=PaymentAttempt.Status.PROCESSING).exists()
        return bool(known)


class PaymentAttempt(models.Model):
    """One try at paying an order: a token charge or a PaymentIntent confirmation.

    Saved with its Stripe idempotency key before Stripe is called, so that a retry of
    the same attempt (the SDK's, or reconcile_orders') reuses the key and Stripe
    repeats the first result instead of moving money again.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge"
        PAYMENT_INTENT = "payment_intent"

    class Status(models.TextChoices):
        STARTED = "started"  # saved; Stripe is being asked (or the process died asking)
        UNKNOWN = "unknown"  # Stripe was asked and its answer was lost: settle from Stripe
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REQUIRES_ACTION = "requires_action"
        # Stripe took it and has not decided yet (a bank debit): its webhook will tell.
        PROCESSING = "processing"

    class SourceType(models.TextChoices):
        """What `payment_source` is. Said, not guessed from the id's prefix: a
        PaymentMethod field may hold any text a client sent."""

        TOKEN = "token"  # tok_…, charged with the Charges API
        PAYMENT_METHOD = "payment_method"  # pm_…, confirms the order's PaymentIntent
        CONFIRMATION_TOKEN = "confirmation_token"  # ctoken_… (Payment Element)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    idempotency_key = ExactCharField(max_length=255, unique=True)
    # The token (tok_…), PaymentMethod (pm_…) or ConfirmationToken (ctoken_…) the
    # attempt pays with, as `source_type` says; a repeat of the attempt must send Stripe
    # exactly the same parameters.
    payment_source = ExactCharField(max_length=255)
    source_type = models.CharField(
        max_length=20, choices=SourceType.choices, default=SourceType.PAYMENT_METHOD
    )
    # Where a payment method that leaves the page (a bank's redirect) brings the shopper
    # back: the order's page. Chosen when the attempt is saved and sent unchanged with
    # every repeat of it; "" for token charges and for attempts saved before it existed.
    return_url = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    stripe_id = ExactCharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="attempt_number_per_order"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of order {self.order_id} ({self.status})"


class IdempotencyRecord(models.Model):
    """A client's Idempotency-Key on a POST that moves money, unique per user.

    The unique constraint, not a check in memory, makes a second request with the same
    key wait for or replay the first one, across workers and machines.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = ExactCharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key!r} of user {self.user_id}"


class StripeEvent(models.Model):
    """A webhook event already processed; its id is unique so it is processed once."""

    event_id = ExactCharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL)
    received = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PaymentAnomaly(models.Model):
    """Something Stripe holds that does not belong to an order as it claims to.

    A charge or PaymentIntent naming one of our orders in its metadata but with another
    amount or currency, or not made by that order (another database sharing the Stripe
    account, a charge made by hand): it changes no order, and an operator looks at it.
    """

    stripe_id = ExactCharField(max_length=255)
    object_type = models.CharField(max_length=30)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="anomalies"
    )
    reason = models.CharField(max_length=255)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    stripe_status = models.CharField(max_length=50, blank=True)
    detected = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-detected", "-id"]
        verbose_name_plural = "payment anomalies"
        constraints = [
            models.UniqueConstraint(fields=["stripe_id", "reason"], name="anomaly_once"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.stripe_id}: {self.reason}"


class JobLease(models.Model):
    """A named job (reconcile_orders) that one process at a time may run, on any instance.

    Taken with a conditional UPDATE (free, or its lease has run out), so a run that died
    holding it does not block the next one for longer than the lease.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=255, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (held by {self.holder or 'nobody'} until {self.expires})"
