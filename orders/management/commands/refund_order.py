from django.core.management.base import BaseCommand, CommandError

from orders import payments, services
from orders.models import Order


class Command(BaseCommand):
    help = "Refund a paid order in full through Stripe and mark it REFUNDED."

    def add_arguments(self, parser):
        parser.add_argument("order_id", type=int)

    def handle(self, *args, order_id, **options):
        try:
            order = Order.objects.get(pk=order_id)
        except Order.DoesNotExist:
            raise CommandError(f"There is no order {order_id}.") from None
        try:
            order = services.refund_order(order)
        except (services.OrderError, payments.PaymentError) as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"order {order.pk}: refunded ({order.stripe_refund_id}), now {order.status}"
        )
