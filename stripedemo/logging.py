"""One JSON object per line for each log event, tagged with the id of the request that
caused it.

Log calls pass a fixed message and put their values in `extra=`:

    log.info("order status changed", extra={"order_id": order.pk, "status": "PAID"})

and each value becomes a field of its own, JSON-quoted, so no value (a path a client
chose, an exception's text) can pass for another field or start another line: the line
above is `{"timestamp": …, "level": "INFO", "logger": "orders", "message": "order status
changed", "request_id": "…", "order_id": 42, "status": "PAID"}`. A traceback is the
`exc_info` field of the same line. Non-ASCII is written as \\u escapes, so a line holds no
character that any reader could take for a line break (U+2028, U+0085…).
"""

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_current = threading.local()


def set_request_id(request_id: str | None) -> None:
    _current.request_id = request_id


def get_request_id() -> str | None:
    """The id of the request this thread is serving; None outside a request."""
    return getattr(_current, "request_id", None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        return True


# Attributes of a record that are not fields of the line: the standard ones (written as
# timestamp/level/logger/message/exc_info, or not at all), and the `request` object that
# Django's own loggers (django.request, django.server) attach, whose path is already in
# their message and whose request id is already a field.
NOT_FIELDS = [*RESERVED_ATTRS, "taskName", "request"]


class JsonLineFormatter(JsonFormatter):
    """timestamp, level, logger, message, request_id, then each `extra=` value as a field."""

    def __init__(self) -> None:
        # The fields are fixed here, not in each handler's settings: every handler (the
        # app's, gunicorn's) writes the same lines.
        super().__init__(
            ["levelname", "name", "message", "request_id"],
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=NOT_FIELDS,
            # The library's encoder (the default): datetimes as ISO 8601, and any value
            # json cannot encode (a Decimal, a model instance) as its str() or repr(),
            # never an error that would lose the line.
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        # A record that went through no RequestIdFilter (gunicorn's own) gets null.
        super().add_fields(log_data, record, message_dict)
