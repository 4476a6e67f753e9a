"""Production logs: one line per event on stdout, tagged with the request id, even when
the event carries a traceback (CloudWatch Logs keeps each line as one event)."""

import logging
import sys

from django.conf import settings
from django.utils.module_loading import import_string

from stripedemo.logging import RequestIdFilter, set_request_id


def format_as_configured(record):
    """The record as the `stdout` handler of settings.LOGGING writes it."""
    handler = settings.LOGGING["handlers"]["stdout"]
    spec = settings.LOGGING["formatters"][handler["formatter"]]
    formatter = import_string(spec["class"])(spec["format"])
    assert handler["stream"] == "ext://sys.stdout"
    assert handler["filters"] == ["request_id"]
    RequestIdFilter().filter(record)
    return formatter.format(record)


def test_an_error_with_its_traceback_is_one_line_with_the_request_id():
    try:
        raise ValueError("the card\nwas declined")
    except ValueError:
        record = logging.LogRecord(
            "orders", logging.ERROR, __file__, 1, "payment failed order_id=%s status=%s",
            (42, "FAILED"), sys.exc_info(),
        )  # fmt: skip
    set_request_id("req-123")
    try:
        line = format_as_configured(record)
    finally:
        set_request_id("-")

    assert "\n" not in line
    assert "request_id=req-123 payment failed order_id=42 status=FAILED" in line
    assert "Traceback (most recent call last):\\n" in line
    assert "ValueError: the card\\nwas declined" in line
