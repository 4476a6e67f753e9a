"""``python -m devstripe --host 127.0.0.1 --port 4242``

Prints exactly one line, ``devstripe listening on http://HOST:PORT``, once it
accepts connections (``--port 0`` picks a free port), so a parent process can
read the port. Per-request log lines go to stderr. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import API_VERSION
from .errors import StripeError
from .server import make_server
from .store import Config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstripe",
        description="A local stand-in for Stripe for development and tests (not Stripe).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4242, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every /v1/ request")
    parser.add_argument("--webhook-url", help="POST every event here, signed")
    parser.add_argument("--webhook-secret", help="the endpoint's signing secret, whsec_...")
    parser.add_argument("--webhook-delay-ms", type=int, default=0)
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0,
        help="requests per second per account, answered 429 past it as Stripe does "
        "(Stripe's test mode: 25; default 0, no limit)",
    )
    parser.add_argument(
        "--endpoint-rate-limit",
        type=float,
        help="requests per second per endpoint, e.g. POST /v1/charges (default: as "
        "--rate-limit; Stripe's default is 25)",
    )
    parser.add_argument(
        "--webhook-api-version",
        default=API_VERSION,
        help="the webhook endpoint's API version, stamped on events as api_version "
        f"(default {API_VERSION})",
    )
    parser.add_argument(
        "--processing-delay-ms",
        type=int,
        default=3000,
        help="how long a US bank account debit stays processing before it settles",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")

    config = Config()
    try:
        config.update(
            {
                "latency_ms": args.latency_ms,
                "webhook_url": args.webhook_url,
                "webhook_secret": args.webhook_secret,
                "webhook_delay_ms": args.webhook_delay_ms,
                "webhook_api_version": args.webhook_api_version,
                "processing_delay_ms": args.processing_delay_ms,
                "rate_limit": args.rate_limit,
                "endpoint_rate_limit": args.rate_limit
                if args.endpoint_rate_limit is None
                else args.endpoint_rate_limit,
            }
        )
    except StripeError as error:
        parser.error(str(error))
    try:
        server = make_server(args.host, args.port, config, quiet=args.quiet)
    except OSError as error:
        print(f"devstripe: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so not from this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"devstripe listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
