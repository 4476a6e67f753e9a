"""Production logs: one JSON object per line on stdout for each event, its values in fields
of their own, tagged with the request id, even when the event carries a traceback
(CloudWatch Logs keeps each line as one event, and Logs Insights reads JSON's fields)."""

import copy
import io
import json
import logging
import runpy
from datetime import UTC, datetime
from decimal import Decimal
from logging.config import DictConfigurator
from pathlib import Path

import pytest
from django.conf import settings

from catalog import selectors
from orders.models import Order
from stripedemo.logging import set_request_id

pytestmark = pytest.mark.django_db


class CapturedLog:
    """What the `stdout` handler of settings.LOGGING writes, and the records it was given."""

    def __init__(self):
        self.stream = io.StringIO()
        self.records = []

    def lines(self):
        return self.stream.getvalue().splitlines()

    def events(self):
        return [json.loads(line) for line in self.lines()]


class _Recorder(logging.Handler):
    def __init__(self, records):
        super().__init__()
        self.records = records

    def emit(self, record):
        self.records.append(record)


def configured_stdout_handler(stream):
    """A handler built from settings.LOGGING's `stdout` handler, writing to `stream`."""
    config = copy.deepcopy(settings.LOGGING)  # the configurator pops keys from what it reads
    spec = config["handlers"]["stdout"]
    assert (spec["class"], spec["stream"]) == ("logging.StreamHandler", "ext://sys.stdout")
    assert settings.LOGGING["root"]["handlers"] == ["stdout"]
    configurator = DictConfigurator(config)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        configurator.configure_formatter(configurator.config["formatters"][spec["formatter"]])
    )
    for name in spec["filters"]:
        handler.addFilter(configurator.configure_filter(configurator.config["filters"][name]))
    return handler


@pytest.fixture
def stdout_log():
    """Every record the root logger handles, written as the production handler writes it."""
    captured = CapturedLog()
    handlers = [configured_stdout_handler(captured.stream), _Recorder(captured.records)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # LOGGING's default (LOG_LEVEL unset)
    for handler in handlers:
        root.addHandler(handler)
    yield captured
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


FORGED_PATHS = {
    # What a client writes after the path, and the path the log must show whole.
    "/api/x%20order_id=42%20status=PAID": "/api/x order_id=42 status=PAID",
    "/api/x%0Aorder_id=42%20status=PAID%22": '/api/x\norder_id=42 status=PAID"',
    "/api/x%22,%20%22order_id%22:%2042,%20%22status%22:%20%22PAID": (
        '/api/x", "order_id": 42, "status": "PAID'
    ),
    # A line separator to Python's str.splitlines() and to JavaScript.
    "/api/x%E2%80%A8order_id=42%C2%85status=PAID": "/api/x\u2028order_id=42\x85status=PAID",
}


@pytest.mark.parametrize("url", FORGED_PATHS)
def test_a_path_cannot_forge_fields_or_lines(api, stdout_log, url):
    response = api.get(url, HTTP_X_REQUEST_ID="forged-path-1")

    assert response.status_code == 404
    # One line per event (the access line, Django's "Not Found"), each a JSON object.
    lines = stdout_log.lines()
    assert len(lines) == len(stdout_log.records) == 2
    assert all(line.isascii() for line in lines)
    events = stdout_log.events()
    assert all(isinstance(event, dict) for event in events)
    for event in events:
        assert "order_id" not in event and "status" not in event
        assert event["request_id"] == "forged-path-1"
    [access] = [event for event in events if event["logger"] == "stripedemo.access"]
    assert access["message"] == "request served"
    assert access["path"] == FORGED_PATHS[url]
    assert (access["method"], access["status_code"]) == ("GET", 404)
    assert isinstance(access["duration_ms"], int)


def test_a_paid_order_logs_its_status_and_request_as_fields(
    shopper_api, user, product, devstripe, stdout_log
):
    response = shopper_api.post(
        "/api/order/",
        {"product": product.id, "token": "tok_visa"},
        format="json",
        HTTP_X_REQUEST_ID="order-request-1",
    )

    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["order"]["id"])
    assert order.status == Order.Status.PAID
    events = stdout_log.events()
    assert len(events) == len(stdout_log.records)
    # Every line the request caused carries its id: the Stripe SDK's, the shop's.
    assert {event["request_id"] for event in events} == {"order-request-1"}
    paid = [
        event
        for event in events
        if event.get("order_id") == order.pk and event.get("status") == "PAID"
    ]
    assert len(paid) == 1, events
    assert paid[0]["logger"] == "orders"
    [access] = [event for event in events if event["logger"] == "stripedemo.access"]
    assert (access["method"], access["path"], access["status_code"]) == ("POST", "/api/order/", 201)
    assert access["user_id"] == user.pk


def test_an_unhandled_error_is_one_line_with_its_traceback_and_request_id(
    api, product, stdout_log, monkeypatch
):
    def broken_catalog(*args):
        raise ValueError("the catalog\nis broken")

    monkeypatch.setattr(selectors, "catalog_etag", broken_catalog)

    response = api.get("/api/product/", HTTP_X_REQUEST_ID="broken-request-1")

    assert response.status_code == 500
    lines = stdout_log.lines()
    assert len(lines) == len(stdout_log.records)
    events = stdout_log.events()
    [error] = [event for event in events if event["message"] == "unhandled error"]
    assert (error["level"], error["logger"], error["view"]) == (
        "ERROR",
        "stripedemo.errors",
        "ProductList",
    )
    assert error["request_id"] == "broken-request-1"
    assert error["exc_info"].startswith("Traceback (most recent call last):\n")
    assert error["exc_info"].endswith("ValueError: the catalog\nis broken")
    assert "Traceback" not in response.content.decode()
    [access] = [event for event in events if event["logger"] == "stripedemo.access"]
    assert (access["status_code"], access["request_id"]) == (500, "broken-request-1")


class Unprintable:
    def __str__(self):
        raise RuntimeError("no text for this")


def test_a_value_json_cannot_encode_is_written_as_text_not_lost(stdout_log):
    logging.getLogger("orders").info(
        "values of every kind",
        extra={
            "amount": Decimal("19.99"),
            "at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
            "thing": Unprintable(),
        },
    )

    [event] = stdout_log.events()
    assert event["amount"] == "19.99"
    assert event["at"] == "2025-01-02T03:04:05+00:00"
    assert event["thing"].startswith("<tests.deploy.test_logging.Unprintable object")


def test_a_record_made_elsewhere_has_fixed_fields_first_and_a_one_line_traceback(stdout_log):
    set_request_id("req-123")
    try:
        try:
            raise ValueError("the card\nwas declined")
        except ValueError:
            logging.getLogger("orders").error(
                "payment failed", extra={"order_id": 42, "status": "FAILED"}, exc_info=True
            )
    finally:
        set_request_id(None)
    logging.getLogger("orders").info("outside any request")

    [failed, outside] = stdout_log.lines()
    event = json.loads(failed)
    assert list(event)[:5] == ["timestamp", "level", "logger", "message", "request_id"]
    assert datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    assert (event["level"], event["logger"], event["message"]) == (
        "ERROR",
        "orders",
        "payment failed",
    )
    assert (event["request_id"], event["order_id"], event["status"]) == ("req-123", 42, "FAILED")
    assert "ValueError: the card\\nwas declined" in failed
    assert json.loads(outside)["request_id"] is None


def test_gunicorn_writes_its_own_lines_with_the_same_formatter():
    """gunicorn.conf.py's logconfig_dict: the app's formatter, one line each, not twice."""
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))["logconfig_dict"]
    assert config["formatters"] == settings.LOGGING["formatters"]
    assert config["loggers"]["gunicorn.error"] == {"handlers": ["stderr"], "propagate": False}
    assert config["handlers"]["stderr"]["stream"] == "ext://sys.stderr"
    configurator = DictConfigurator(copy.deepcopy(config))
    formatter = configurator.configure_formatter(configurator.config["formatters"]["json"])
    record = logging.LogRecord(
        "gunicorn.error", logging.WARNING, __file__, 1,
        "Invalid request from ip=%s: %s", ("127.0.0.1", "GET /x order_id=42\nstatus=PAID"), None,
    )  # fmt: skip
    line = formatter.format(record)
    assert "\n" not in line and "order_id" not in json.loads(line)
