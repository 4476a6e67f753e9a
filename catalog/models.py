from decimal import Decimal
from typing import Self

from django.core.validators import MinValueValidator
from django.db import models


class ProductQuerySet(models.QuerySet):
    def active(self) -> Self:
        return self.filter(active=True)


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Exact money in the currency's main unit (e.g. dollars), never a float.
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=3, default="usd")
    image_url = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="product_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name
