from decimal import Decimal
from typing import Self

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from catalog.currency import max_price
from catalog.prices import (
    CURRENCY_CODE,
    CURRENCY_CODE_MESSAGE,
    price_constraints,
    validate_sellable_price,
)


class ProductQuerySet(models.QuerySet):
    def active(self) -> Self:
        return self.filter(active=True)


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Exact money in the currency's main unit (e.g. dollars), never a float.
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=(
            "In the currency's main unit: 19.99 usd. Whole units where Stripe charges no "
            "decimals (jpy, krw, isk, ugx, …). At most "
            f"{max_price('usd', settings.ORDER_MAX_QUANTITY)} usd "
            f"({max_price('jpy', settings.ORDER_MAX_QUANTITY)} jpy, "
            f"{max_price('kwd', settings.ORDER_MAX_QUANTITY)} kwd), so that an order of "
            f"{settings.ORDER_MAX_QUANTITY} stays within Stripe's maximum charge."
        ),
    )
    currency = models.CharField(
        max_length=3,
        default="usd",
        validators=[RegexValidator(CURRENCY_CODE, CURRENCY_CODE_MESSAGE)],
        help_text="Stripe's three-letter code, in lowercase: usd, eur, jpy.",
    )
    image_url = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="product_price_positive"),
            *price_constraints(settings.ORDER_MAX_QUANTITY),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_sellable_price(self.price, self.currency)
