from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.currency import chargeable_decimals
from catalog.models import Product

IMAGES = "/static/catalog/products/"

# Prices as in a two-decimal currency such as usd; demo_price fits them to STRIPE_CURRENCY.
DEMO_CATALOG = [
    (
        "Stripe Demo Mug",
        "A 350 ml stoneware mug for the coffee you drink while reading webhooks.",
        "12.50",
        "mug.svg",
    ),
    (
        "Idempotent T-shirt",
        "Soft cotton tee. Wash it twice: it is still one t-shirt.",
        "19.99",
        "tshirt.svg",
    ),
    (
        "Field Notebook",
        "80 dotted pages for sketching payment flows and order states.",
        "8.75",
        "notebook.svg",
    ),
    ("Sticker Pack", "Six weatherproof stickers for your laptop lid.", "4.99", "stickers.svg"),
    ("Team Cap", "A six-panel cap with an adjustable strap.", "17.00", "cap.svg"),
    ("Canvas Tote", "A sturdy tote bag that holds a week of groceries.", "14.25", "tote.svg"),
]


def demo_price(price: str, currency: str) -> Decimal:
    """A demo price in this currency: as listed, or without its decimal point (12.50 is
    1250) where Stripe charges whole units only (jpy, krw, isk, ugx, …), so that the
    price is exact there and not a rounded few yen below Stripe's minimum charge."""
    listed = Decimal(price)
    if chargeable_decimals(currency) == 0:
        return listed.scaleb(2)
    return listed


class Command(BaseCommand):
    help = (
        "Load the demo catalog in STRIPE_CURRENCY. Running it again updates the same "
        "products, never duplicates."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        currency = settings.STRIPE_CURRENCY
        created_count = 0
        # All or nothing: a product that fails validation leaves the catalog as it was.
        with transaction.atomic():
            for name, description, price, image in DEMO_CATALOG:
                product = Product.objects.filter(name=name).first() or Product(name=name)
                created_count += product.pk is None
                product.description = description
                product.price = demo_price(price, currency)
                product.currency = currency
                product.image_url = IMAGES + image
                product.active = True
                try:
                    product.full_clean()  # the admin's rules: a price orders can be charged at
                except ValidationError as error:
                    raise CommandError(
                        f"STRIPE_CURRENCY={currency!r}: cannot sell {name!r} at "
                        f"{product.price} {currency}: {' '.join(error.messages)}"
                    ) from None
                product.save()
        self.stdout.write(
            f"Demo catalog: {created_count} created, {len(DEMO_CATALOG) - created_count} updated."
        )
