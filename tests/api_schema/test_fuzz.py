"""Fuzzing the live shop against its own schema with Schemathesis.

The shop runs under gunicorn on the test database, paying at devstripe. Schemathesis
loads /api/schema/ from it and sends every operation documented examples, boundary and
invalid values, random data, and sequences that follow one answer's ids into the next
request, logged in as a shopper. Every answer must be documented: no 5xx, the status,
content type and body as the schema says, and never a stack trace. The seed and the
bounds are fixed, so a failure can be replayed with the command it prints.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import token_for

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

HOOKS = Path(__file__).with_name("fuzz_hooks.py")
SEED = 20250131
MAX_EXAMPLES = 60  # per operation and phase
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "no_stack_trace",  # tests/api_schema/fuzz_hooks.py
    # Without the login token (or with a broken one) a shopper's operation is a 401.
    "ignored_auth",
    # Without Stripe-Signature the webhook refuses.
    "missing_required_header",
    # A method an operation does not have is a 405 naming the ones it has.
    "unsupported_method",
    "allow_header_conformance",
]
# The whole run (about a minute), and each request (a Stripe call with its retries).
RUN_TIMEOUT_SECONDS = 240
REQUEST_TIMEOUT_SECONDS = 30


def schemathesis_run(base_url, workdir, *options):
    """`st run` from `workdir` (where it keeps its replay cache), with our hooks."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/schema/?format=json",
        "--checks", ",".join(CHECKS),
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--request-timeout", str(REQUEST_TIMEOUT_SECONDS),
        "--workers", "1",
        "--generation-database", "none",
        "--no-color",
        *options,
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )


def test_every_operation_answers_as_documented_whatever_it_is_sent(
    fuzzed_shop, devstripe, user, catalog, tmp_path
):
    run = schemathesis_run(
        fuzzed_shop, tmp_path, "--header", f"Authorization: JWT {token_for(user)}"
    )

    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, report
    assert "11 selected / 11 total" in run.stdout, report
    assert "unique failure" not in run.stdout, report
