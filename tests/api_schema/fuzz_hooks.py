"""Schemathesis hooks for tests/api_schema/test_fuzz.py (loaded with SCHEMATHESIS_HOOKS).

One extra check: whatever the status, no answer shows a Python stack trace.
"""

import requests
import schemathesis

STACK_TRACE_MARKERS = ("Traceback (most recent call last)", "Traceback", 'File "/')


@schemathesis.check
def no_stack_trace(ctx, response, case):
    """No response body leaks a stack trace."""
    body = response.content.decode("utf-8", errors="replace")
    leaked = [marker for marker in STACK_TRACE_MARKERS if marker in body]
    if leaked:
        raise AssertionError(f"The response body shows a stack trace ({leaked[0]!r})")


# gunicorn refuses a request line over 4094 bytes with its own HTML 414 before the shop
# sees the request (nginx in production does the same past 8 KiB). That limit is the web
# server's, not the API's: cases that would cross it are not sent.
REQUEST_LINE_LIMIT = 4094


@schemathesis.hook
def filter_case(context, case):
    path_and_query = (
        requests.Request("GET", "http://shop" + case.formatted_path, params=case.query)
        .prepare()
        .path_url
    )
    request_line = f"{case.method.upper()} {path_and_query} HTTP/1.1"
    return len(request_line.encode()) <= REQUEST_LINE_LIMIT
