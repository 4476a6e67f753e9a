"""devstripe's own tests: one devstripe process for the session, reset before each test,
driven through the official stripe SDK over real HTTP.

These fixtures override the shop's `devstripe_process` / `devstripe` from tests/conftest.py
for this folder: testing the stand-in itself needs no Django settings.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from devstripe.testing import DevStripeProcess


@pytest.fixture(scope="session")
def devstripe_process():
    with DevStripeProcess() as process:
        yield process


@pytest.fixture
def devstripe(devstripe_process):
    """devstripe with nothing in it and the default config."""
    devstripe_process.reset()
    devstripe_process.configure(
        latency_ms=0,
        webhook_url=None,
        webhook_secret=None,
        webhook_delay_ms=0,
        rate_limit=0,
        endpoint_rate_limit=0,
        webhook_api_version=None,
        processing_delay_ms=None,
    )
    yield devstripe_process


def sdk_client(devstripe, key=None, **options):
    options.setdefault("max_network_retries", 2)
    return stripe.StripeClient(
        key or devstripe.secret_key, base_addresses={"api": devstripe.url}, **options
    )


@pytest.fixture
def client(devstripe):
    """The official SDK, as the shop configures it, pointed at devstripe."""
    return sdk_client(devstripe)


@pytest.fixture
def http(devstripe):
    """Raw HTTP to devstripe's API with the secret key, for header-level checks."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {devstripe.secret_key}"

    def call(method, path, data=None, headers=None, **kwargs):
        return session.request(
            method, devstripe.url + path, data=data, headers=headers, timeout=30, **kwargs
        )

    yield call
    session.close()


class WebhookReceiver:
    """A tiny HTTP endpoint that records what devstripe POSTs to it."""

    def __init__(self):
        self.received = []  # (headers, body bytes)
        self.statuses = []  # answers to give, in order; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = WebhookReceiver()
    yield endpoint
    endpoint.close()
