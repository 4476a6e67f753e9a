from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # The shop's deployment checks (the throttling counts' cache among them).
        from stripedemo import checks  # noqa: F401
