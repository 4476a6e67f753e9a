from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from orders import idempotency, payments, services
from orders.models import Order


class Command(BaseCommand):
    help = (
        "Settle orders left PENDING longer than --older-than seconds from Stripe's own "
        "record. Safe to run again and again (e.g. from cron every few minutes)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=300,
            help="only orders pending for at least this many seconds (default 300)",
        )

    def handle(self, *args, older_than, **options):
        cutoff = timezone.now() - timedelta(seconds=older_than)
        pending = Order.objects.filter(status=Order.Status.PENDING, updated__lte=cutoff)
        changed = unavailable = 0
        for order in pending.order_by("id").iterator():
            try:
                status = services.reconcile_order(order)
            except payments.PaymentError as error:
                unavailable += 1
                self.stderr.write(f"order {order.pk}: still PENDING ({error.message})")
                continue
            if status != Order.Status.PENDING:
                changed += 1
                self.stdout.write(f"order {order.pk}: PENDING -> {status}")
            else:
                self.stdout.write(f"order {order.pk}: still PENDING")
        forgotten = idempotency.forget_expired()
        self.stdout.write(
            f"reconciled {changed} order(s); {unavailable} left for the next run; "
            f"{forgotten} expired idempotency key(s) forgotten."
        )
