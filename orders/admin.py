from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orders import payments
from orders.checkout import OrderConflict
from orders.models import Order, PaymentAnomaly, PaymentAttempt, StripeEvent
from orders.refunds import refund_order


class PaymentAttemptInline(admin.TabularInline):
    model = PaymentAttempt
    extra = 0
    can_delete = False
    fields = ["number", "kind", "status", "stripe_id", "idempotency_key", "failure_message"]
    readonly_fields = fields  # type: ignore[assignment]  # plain field names, fit for both

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here: their state only changes through orders.settlement."""

    list_display = [
        "id",
        "user",
        "product",
        "quantity",
        "amount",
        "currency",
        "status",
        "created",
        "receipt",
    ]
    list_filter = ["status", "currency", ("receipt_sent_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "user__email",
        "user__username",
        "stripe_charge_id",
        "stripe_payment_intent_id",
    ]
    list_select_related = ["user", "product"]
    inlines = [PaymentAttemptInline]
    actions = ["refund"]

    @admin.display(description="receipt")
    def receipt(self, order: Order) -> str:
        """Sent (when), due (a paid order's, sent by the next reconcile run at the latest),
        or none (not paid, or refunded before it went out)."""
        if order.receipt_sent_at is not None:
            return f"sent {order.receipt_sent_at:%Y-%m-%d %H:%M}"
        if order.status == Order.Status.PAID and order.paid_at is not None:
            return "due"
        return "—"

    @admin.action(description="Refund selected paid orders through Stripe")
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                refund_order(order=order)
            except (OrderConflict, payments.PaymentError) as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"Order {order.pk} refunded.", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "order", "received"]
    search_fields = ["event_id", "type"]
    readonly_fields = ["event_id", "type", "order", "received"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PaymentAnomaly)
class PaymentAnomalyAdmin(admin.ModelAdmin):
    """Stripe objects that name an order of ours but are not its: no order changed."""

    list_display = [
        "detected",
        "object_type",
        "stripe_id",
        "order",
        "amount",
        "currency",
        "stripe_status",
        "reason",
    ]
    list_filter = ["object_type", "stripe_status"]
    search_fields = ["stripe_id", "reason"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: PaymentAnomaly | None = None
    ) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
