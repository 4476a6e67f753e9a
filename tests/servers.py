"""Starting the shop as a real server process (gunicorn, as the Procfile does) for tests.

The process shares the test database (a file for SQLite, `test_<name>` on MySQL) and
talks to the tests' devstripe, so tests can drive it over HTTP and check the database.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "whsec_test_secret_for_the_test_suite"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url():
    """The URL of the database the tests are using right now."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"].endswith("mysql"):
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"mysql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
    raise RuntimeError(f"no server URL for {db['ENGINE']}")


def wait_until_up(url, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {seconds}s")


def shop_environment(devstripe, **overrides):
    """The environment of a shop process on the test database, paying at devstripe."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_DEBUG": "true",
        "STRIPE_API_BASE": devstripe.url,
        "STRIPE_SECRET_KEY": devstripe.secret_key,
        "STRIPE_PUBLISHABLE_KEY": devstripe.publishable_key,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
        # Tests buy far faster than a shopper; the throttling tests set the real limits.
        "THROTTLE_PAYMENT_RATE": "1000/min",
        "THROTTLE_PAYMENT_ADDRESS_RATE": "1000/min",
        "THROTTLE_PAYMENT_DECLINES": "1000/hour",
        "THROTTLE_CONFIRM_RATE": "1000/min",
        **{name: str(value) for name, value in overrides.items()},
    }


def start_shop(devstripe, workers=3, threads=8, **overrides):
    """Start gunicorn serving the shop on a free loopback port; returns (process, URL)
    once it answers. The caller stops it (`stop`)."""
    port = free_port()
    env = shop_environment(
        devstripe,
        WEB_CONCURRENCY=workers,
        GUNICORN_THREADS=threads,
        GUNICORN_BIND="127.0.0.1",
        PORT=port,
        **overrides,
    )
    command = [
        sys.executable, "-m", "gunicorn", "stripedemo.wsgi:application",
        "--config", "gunicorn.conf.py",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/product/", process)
    except BaseException:
        stop(process)
        raise
    return process, url


@contextmanager
def shop_server(devstripe, workers=3, threads=8, **overrides):
    """gunicorn serving the shop on a free loopback port; yields its base URL."""
    process, url = start_shop(devstripe, workers, threads, **overrides)
    try:
        yield url
    finally:
        stop(process)


def stop(process, timeout=10, signal_number=signal.SIGTERM):
    """Ask a server process to stop, and kill it if it is still there after `timeout`."""
    process.send_signal(signal_number)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
