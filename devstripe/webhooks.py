"""Signed webhook delivery, as Stripe signs it
(https://docs.stripe.com/webhooks#verify-manually):

    Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>

Each event is POSTed from its own background thread, so a slow or failing
receiver never holds up API requests; like Stripe, devstripe therefore does
not promise that events arrive in order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .core import new_id
from .store import Store

# Pauses between attempts. Stripe retries for days; a few quick tries are
# enough to exercise a receiver's retry handling in tests.
RETRY_DELAYS = (0.25, 0.5, 1.0)
_TIMEOUT_SECONDS = 10

# Never send local traffic through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookSender:
    def __init__(self, store: Store) -> None:
        self.store = store

    def dispatch(self, events: list[dict[str, Any]]) -> None:
        """Deliver newly created events, if a webhook endpoint is configured."""
        for event in events:
            self.send(event["id"])

    def send(self, event_id: str) -> bool:
        config = self.store.config
        if not (config.webhook_url and config.webhook_secret):
            return False
        threading.Thread(
            target=self._deliver,
            args=(
                event_id,
                config.webhook_url,
                config.webhook_secret,
                config.webhook_delay_ms,
                self.store.generation,
            ),
            name=f"devstripe-webhook-{event_id}",
            daemon=True,
        ).start()
        return True

    def _deliver(
        self, event_id: str, url: str, secret: str, delay_ms: int, generation: int
    ) -> None:
        if delay_ms:
            time.sleep(delay_ms / 1000)
        for attempt in range(1, len(RETRY_DELAYS) + 2):
            with self.store.lock:
                event = self.store.get(event_id, "event")
                if event is None or self.store.generation != generation:
                    return  # reset() happened meanwhile
                payload = json.dumps(event, indent=2).encode()
            status, error = _post(url, payload, secret)
            ok = status is not None and 200 <= status < 300
            with self.store.lock:
                if self.store.generation != generation:
                    return
                self.store.log_delivery(
                    {
                        "id": new_id("whdel"),
                        "event_id": event_id,
                        "type": event["type"],
                        "url": url,
                        "attempt": attempt,
                        "status": status,
                        "ok": ok,
                        "error": error,
                        "created": time.time(),
                    }
                )
                if ok:
                    event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
            if ok or attempt > len(RETRY_DELAYS):
                return
            time.sleep(RETRY_DELAYS[attempt - 1])


def _post(url: str, payload: bytes, secret: str) -> tuple[int | None, str | None]:
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by Config
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(payload, secret, int(time.time())),
        },
    )
    try:
        # Config only accepts http(s) webhook URLs.
        with _opener.open(request, timeout=_TIMEOUT_SECONDS) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))
