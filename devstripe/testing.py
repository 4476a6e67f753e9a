"""A small client for tests: run devstripe as a subprocess and drive its
control routes. Standard library only. The shop's code never imports this.

    with DevStripeProcess() as devstripe:
        client = stripe.StripeClient(devstripe.secret_key,
                                     base_addresses={"api": devstripe.url})
        devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after")
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 303 is the answer (raised as HTTPError)


_no_redirects = urllib.request.build_opener(urllib.request.ProxyHandler({}), _KeepRedirects())


class DevStripeError(RuntimeError):
    pass


class DevStripeProcess:
    """``python -m devstripe --port 0`` in a subprocess, and its control routes."""

    secret_key = "sk_test_devstripe"
    publishable_key = "pk_test_devstripe"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        latency_ms: int = 0,
        rate_limit: float = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_api_version: str | None = None,
        processing_delay_ms: int | None = None,
        quiet: bool = False,
        python: str = sys.executable,
        startup_timeout: float = 20.0,
    ) -> None:
        command = [python, "-m", "devstripe", "--host", host, "--port", "0"]
        command += ["--latency-ms", str(latency_ms)]
        if rate_limit:
            command += ["--rate-limit", str(rate_limit)]
        if webhook_url or webhook_secret:
            command += [
                "--webhook-url",
                webhook_url or "",
                "--webhook-secret",
                webhook_secret or "",
            ]
        if webhook_api_version:
            command += ["--webhook-api-version", webhook_api_version]
        if processing_delay_ms is not None:
            command += ["--processing-delay-ms", str(processing_delay_ms)]
        if quiet:
            command.append("--quiet")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        # Its log goes to a file, not a pipe nobody reads (which would fill and block it).
        self._log = tempfile.TemporaryFile(mode="w+", prefix="devstripe-", suffix=".log")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log, env=env, text=True
        )
        try:
            self.url = self._read_url(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _read_url(self, timeout: float) -> str:
        prefix = "devstripe listening on "
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith(prefix):
            raise DevStripeError(
                f"devstripe did not start (said {line!r}); its log:\n{self.log_text()}"
            )
        return line[len(prefix) :].strip()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log_text(self) -> str:
        """Everything devstripe wrote to stderr so far (one line per API request)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    # -- control routes ------------------------------------------------------

    def _call(self, method: str, path: str, payload: dict | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - devstripe's own http:// URL
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with _opener.open(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise DevStripeError(f"{method} {path}: {error.code} {error.read().decode()}") from None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_devstripe/health")

    def reset(self) -> None:
        """Forget every object, request, fault, idempotency key and delivery (not the config)."""
        self._call("POST", "/_devstripe/reset", {})

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Every /v1 request received, oldest first.

        ``path`` matches exactly, or as a prefix when it ends with ``*``. Records
        hold id, created, method, path, params (card number and CVC masked, no
        API key), idempotency_key, key_kind, status (None when the connection
        was dropped), replayed, fault, rate_limited (the 429's reason, or None)
        and duration_ms.
        """
        query = urllib.parse.urlencode({k: v for k, v in (("path", path), ("method", method)) if v})
        return self._call("GET", "/_devstripe/requests" + (f"?{query}" if query else ""))["data"]

    def add_fault(
        self, *, path: str, mode: str, method: str = "*", times: int = 1, delay_ms: int = 0
    ) -> dict[str, Any]:
        """Queue a fault for requests whose method matches and whose path starts with ``path``.

        mode: error_500, drop_before, drop_after, slow (sleeps delay_ms first) or rate_limit.
        """
        spec = {"method": method, "path": path, "mode": mode, "times": times, "delay_ms": delay_ms}
        return self._call("POST", "/_devstripe/faults", spec)["fault"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_devstripe/faults")["data"]

    def configure(self, **config: Any) -> dict[str, Any]:
        """Change latency_ms, webhook_url, webhook_secret, webhook_delay_ms, rate_limit,
        endpoint_rate_limit (requests per second; "", None or 0 unsets),
        webhook_api_version (the events' api_version; None: devstripe's API_VERSION),
        processing_delay_ms (how long a bank debit stays processing; None: 3000)."""
        return self._call("POST", "/_devstripe/config", config)["config"]

    def webhooks(self) -> list[dict[str, Any]]:
        """Webhook delivery attempts: event_id, type, url, attempt, status, ok, error, created."""
        return self._call("GET", "/_devstripe/webhooks")["data"]

    def resend_event(self, event_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_devstripe/events/{event_id}/resend", {})

    def settle(self, payment_intent_id: str) -> dict[str, Any]:
        """Settle a processing PaymentIntent (a US bank account debit) now, as the
        processing delay would: succeeded, or failed by its test account number. Returns
        the PaymentIntent; its webhooks are sent as usual."""
        return self._call("POST", f"/_devstripe/payment_intents/{payment_intent_id}/settle", {})

    def clock(self) -> dict[str, Any]:
        """``{"now": unix time devstripe checks expiries against, "offset_seconds": …}``."""
        return self._call("GET", "/_devstripe/clock")

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        """Move the clock ConfirmationToken expiry is checked against (reset() puts it back)."""
        return self._call("POST", "/_devstripe/clock", {"advance_seconds": seconds})

    # -- shortcuts through the API and the test 3-D Secure page ----------------

    def _api(self, method: str, path: str, params: dict | None = None) -> Any:
        query = urllib.parse.urlencode(params or {})
        data = query.encode() if method == "POST" else None
        url = self.url + path + (f"?{query}" if query and method == "GET" else "")
        request = urllib.request.Request(  # noqa: S310 - devstripe's own http:// URL
            url, data=data, method=method, headers={"Authorization": f"Bearer {self.secret_key}"}
        )
        try:
            with _opener.open(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise DevStripeError(f"{method} {path}: {error.code} {error.read().decode()}") from None

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Every event (optionally of one type, ``*`` wildcards allowed), newest first."""
        found: list[dict[str, Any]] = []
        params = {"limit": 100, **({"type": type} if type else {})}
        while True:
            page = self._api("GET", "/v1/events", params)
            found += page["data"]
            if not page["has_more"]:
                return found
            params["starting_after"] = found[-1]["id"]

    def redirect(self, payment_intent_id: str, authorize: bool = True) -> str:
        """Press "Authorize test payment" (or "Fail test payment") on the redirect page of a
        PaymentIntent awaiting it (amazon_pay), as the customer would; returns the URL the
        page sends the browser back to (return_url with Stripe's query appended)."""
        intent = self._api("GET", f"/v1/payment_intents/{payment_intent_id}")
        button = "authorize" if authorize else "fail"
        form = urllib.parse.urlencode({"client_secret": intent["client_secret"]}).encode()
        request = urllib.request.Request(  # noqa: S310 - devstripe's own http:// URL
            f"{self.url}/redirect/{payment_intent_id}/{button}", data=form, method="POST"
        )
        try:
            with _no_redirects.open(request, timeout=30) as response:
                response.read()
                raise DevStripeError(f"redirect {button}: no redirect ({response.status})")
        except urllib.error.HTTPError as error:
            if error.code != 303:
                raise DevStripeError(f"redirect {button}: {error.code}") from None
            return error.headers["Location"]

    def authenticate(self, payment_intent_id: str, succeed: bool = True) -> dict[str, Any]:
        """Press "Complete" (or "Fail") on the test 3-D Secure page of a PaymentIntent in
        requires_action, as the customer would; returns the PaymentIntent afterwards."""
        intent = self._api("GET", f"/v1/payment_intents/{payment_intent_id}")
        button = "complete" if succeed else "fail"
        form = urllib.parse.urlencode({"client_secret": intent["client_secret"]}).encode()
        request = urllib.request.Request(  # noqa: S310 - devstripe's own http:// URL
            f"{self.url}/3ds/{payment_intent_id}/{button}", data=form, method="POST"
        )
        try:
            with _opener.open(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise DevStripeError(f"3-D Secure {button}: {error.code}") from None
        return self._api("GET", f"/v1/payment_intents/{payment_intent_id}")

    # -- lifetime ------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not stopped within ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> DevStripeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._log.close()

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.05) -> Any:
        """Poll ``predicate()`` until it returns something truthy (e.g. a webhook delivery)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)


# The name issue 14's plan uses; the same class.
DevStripe = DevStripeProcess
