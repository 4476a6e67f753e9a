"""One log line per event, tagged with the id of the request that caused it."""

import logging
import threading

_current = threading.local()


def set_request_id(request_id: str) -> None:
    _current.request_id = request_id


def get_request_id() -> str:
    return getattr(_current, "request_id", "-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        return True


class OneLineFormatter(logging.Formatter):
    """Keeps a record on one line, traceback included (newlines escaped as \\n), so that
    each event is one line on stdout and one event in CloudWatch Logs."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", "\\n")
