"""Model fields shared by the apps."""

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class ExactCharField(models.CharField):
    """A CharField whose values compare byte for byte on every database.

    MySQL's and MariaDB's default collations (utf8mb4_unicode_ci, …) fold case and
    accents, so `Twin-abc` would equal `twin-abc`: two idempotency keys would be one,
    and a Stripe id could match another. These columns use the binary collation there;
    SQLite and PostgreSQL compare exactly already.
    """

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql":
            parameters["collation"] = "utf8mb4_bin"
        return parameters
