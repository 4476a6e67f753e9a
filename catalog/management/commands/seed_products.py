from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.models import Product

IMAGES = "/static/catalog/products/"

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


class Command(BaseCommand):
    help = "Load the demo catalog. Running it again updates the same products, never duplicates."

    def handle(self, *args: Any, **options: Any) -> None:
        created_count = 0
        for name, description, price, image in DEMO_CATALOG:
            _, created = Product.objects.update_or_create(
                name=name,
                defaults={
                    "description": description,
                    "price": Decimal(price),
                    "currency": settings.STRIPE_CURRENCY,
                    "image_url": IMAGES + image,
                    "active": True,
                },
            )
            created_count += created
        self.stdout.write(
            f"Demo catalog: {created_count} created, {len(DEMO_CATALOG) - created_count} updated."
        )
