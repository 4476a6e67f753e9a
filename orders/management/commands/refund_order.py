from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders import payments
from orders.checkout import OrderConflict
from orders.models import Order
from orders.refunds import refund_order


class Command(BaseCommand):
    help = (
        "Refund a paid order in full through Stripe (every payment it took) and mark it REFUNDED."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("order_id", type=int)

    def handle(self, *args: Any, order_id: int, **options: Any) -> None:
        try:
            order = Order.objects.get(pk=order_id)
        except Order.DoesNotExist:
            raise CommandError(f"There is no order {order_id}.") from None
        try:
            order = refund_order(order=order)
        except (OrderConflict, payments.PaymentError) as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"order {order.pk}: refunded ({order.stripe_refund_id}), now {order.status}"
        )
