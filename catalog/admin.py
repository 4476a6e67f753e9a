from django.contrib import admin

from catalog.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "currency", "active", "updated"]
    list_filter = ["active", "currency"]
    search_fields = ["name", "description"]
