from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from orders import leases, payments, receipts, recovery
from orders.models import PaymentAnomaly
from stripedemo.cache import delete_expired_entries

# Longer than a run may take; a run that died holding the lease frees it after this.
LEASE_SECONDS = 15 * 60


class Command(BaseCommand):
    help = (
        "Settle from Stripe's own record every order whose state may not be Stripe's: "
        "pending orders older than --older-than seconds, attempts whose answer was lost, "
        "failed orders holding a PaymentIntent; cancel bank steps left for a day; email "
        "the receipts still due; delete the database cache's expired entries; print "
        "payment anomalies. One run at a time across instances (a database lease); safe to "
        "run again and again (a systemd timer does every 5 minutes on Elastic Beanstalk)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=300,
            help="only orders pending for at least this many seconds (default 300)",
        )

    def handle(self, *args: Any, older_than: int, **options: Any) -> None:
        with leases.exclusive("reconcile_orders", seconds=LEASE_SECONDS) as held:
            if not held:
                self.stdout.write("reconcile_orders: another run holds the lease; nothing done.")
                return
            self.reconcile(timedelta(seconds=older_than))

    def reconcile(self, older_than: timedelta) -> None:
        started = timezone.now()
        changed = unavailable = 0
        for order in recovery.orders_to_reconcile(older_than=older_than).iterator():
            before = order.status
            try:
                status = recovery.reconcile_order(order=order)
            except payments.PaymentError as error:
                unavailable += 1
                self.stderr.write(f"order {order.pk}: still {before} ({error.message})")
                continue
            if status != before:
                changed += 1
                self.stdout.write(f"order {order.pk}: {before} -> {status}")
            else:
                self.stdout.write(f"order {order.pk}: still {status}")
        finished = recovery.finish_idempotency_records()
        # Orders this run made PAID have their receipts sent by background threads: let
        # them finish before the process ends. Then the receipts whose sender died or
        # whose mail server failed.
        receipts.wait_for_background_sends(timeout=receipts.send_budget().total_seconds())
        receipt_run = receipts.send_due_receipts()
        # The payment limits' counts of shoppers long gone: each payment would count them.
        expired = delete_expired_entries()
        for anomaly in recovery.anomalies_since(started):
            self.stdout.write(
                f"ANOMALY {anomaly.object_type} {anomaly.stripe_id} "
                f"(order {anomaly.order_id or '-'}, {anomaly.amount} {anomaly.currency}, "
                f"{anomaly.stripe_status}): {anomaly.reason}"
            )
        self.stdout.write(
            f"reconciled {changed} order(s); {unavailable} left for the next run; "
            f"{finished} idempotency key(s) finished; "
            f"{expired} expired cache entr(ies) deleted; "
            f"{receipt_run.sent} receipt(s) sent, {receipt_run.not_sent} left for the next run; "
            f"{PaymentAnomaly.objects.count()} payment anomaly(ies) on record "
            "(admin: Payment anomalies)."
        )
