"""Limits on an order, in plain Python: Django reads them through settings, and
scripts/deploy_frontend.py, which runs outside Django, writes them into config.json."""

# Items of one product per order: the API refuses more (orders/serializers.py), the
# database too (Order's CheckConstraint), and the page offers no more (config.json).
ORDER_MAX_QUANTITY = 10
