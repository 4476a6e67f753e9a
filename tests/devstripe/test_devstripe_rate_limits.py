"""devstripe's rate limiter, as https://docs.stripe.com/rate-limits describes Stripe's: per
account and per endpoint (a named operation), 429 with code `rate_limit` and a
`Stripe-Rate-Limited-Reason` header past it, nothing done, and requests pass again once
the second is over. Driven through the official SDK over real HTTP."""

import time

import pytest
import stripe

from devstripe.store import RateLimiter
from devstripe.testing import DevStripeError, DevStripeProcess

from .conftest import sdk_client

CHARGE = {"amount": 1000, "currency": "usd", "source": "tok_visa"}


def burst(call, count):
    """Make `count` calls as fast as they go: the RateLimitErrors among the answers, and
    how long the calls took."""
    refused, started = [], time.monotonic()
    for _ in range(count):
        try:
            call()
        except stripe.RateLimitError as error:
            refused.append(error)
    return refused, time.monotonic() - started


def at_least_refused(count, per_second, elapsed):
    """How many of `count` requests made within `elapsed` seconds a limit of `per_second`
    must refuse: the bucket holds one second of requests and refills at the rate."""
    bound = count - int(per_second * (1 + elapsed)) - 1
    assert bound > 0, f"{count} requests took {elapsed:.2f} s: too slow to reach the limit"
    return bound


def test_a_burst_over_the_limit_is_refused_with_stripes_429_then_passes_a_second_later(
    devstripe, client
):
    devstripe.configure(rate_limit=5)
    refused, elapsed = burst(lambda: client.v1.charges.list(params={"limit": 1}), 20)
    assert len(refused) >= at_least_refused(20, 5, elapsed)
    error = refused[0]
    assert error.http_status == 429
    assert error.error.type == "invalid_request_error"
    assert error.error.code == "rate_limit"
    assert "Too many requests hit the API too quickly" in error.error.message
    assert error.headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert error.request_id.startswith("req_")
    # The SDK retries a 429 only when Stripe says Stripe-Should-Retry: true, which a rate
    # limit's answer does not: each refused call reached devstripe once.
    assert "Stripe-Should-Retry" not in error.headers
    logged = devstripe.requests(path="/v1/charges")
    assert len(logged) == 20
    assert sum(r["status"] == 429 for r in logged) == len(refused)
    assert {r["rate_limited"] for r in logged if r["status"] == 429} == {"global-rate"}

    time.sleep(1.1)
    assert burst(lambda: client.v1.charges.list(params={"limit": 1}), 5)[0] == []


def test_a_refused_payment_is_not_made_and_its_idempotency_key_stays_free(devstripe, client):
    devstripe.configure(rate_limit=1)
    client.v1.charges.list()  # spends the one request of this second
    with pytest.raises(stripe.RateLimitError):
        client.v1.charges.create(params=CHARGE, options={"idempotency_key": "order-1"})
    devstripe.configure(rate_limit=0)
    assert client.v1.charges.list().data == []
    # The same key later does the payment, once: the 429 saved nothing under it.
    made = client.v1.charges.create(params=CHARGE, options={"idempotency_key": "order-1"})
    assert made.paid
    again = client.v1.charges.create(params=CHARGE, options={"idempotency_key": "order-1"})
    assert again.id == made.id
    assert [charge.id for charge in client.v1.charges.list().data] == [made.id]


def test_each_endpoint_has_its_own_limit_whatever_the_id(devstripe, client):
    made = client.v1.charges.create(params=CHARGE)
    other = client.v1.charges.create(params=CHARGE)
    devstripe.configure(rate_limit=100, endpoint_rate_limit=2)
    ids = [made.id, other.id] * 4
    refused, elapsed = burst(lambda: client.v1.charges.retrieve(ids.pop()), 8)
    assert len(refused) >= at_least_refused(8, 2, elapsed)
    assert {error.headers["Stripe-Rate-Limited-Reason"] for error in refused} == {"endpoint-rate"}
    # Another endpoint of the same account still has its own allowance.
    assert client.v1.charges.list().data


def test_accounts_are_limited_apart(devstripe, client):
    devstripe.configure(rate_limit=2)
    refused, elapsed = burst(client.v1.charges.list, 6)
    assert len(refused) >= at_least_refused(6, 2, elapsed)
    neighbour = sdk_client(devstripe, key="sk_test_neighbour")
    assert burst(neighbour.v1.charges.list, 2)[0] == []


def test_the_limit_is_off_unless_set_and_rejects_nonsense(devstripe, client):
    assert devstripe.configure()["rate_limit"] == 0
    assert burst(client.v1.charges.list, 40)[0] == []
    for value in (-1, "25", True):
        with pytest.raises(DevStripeError, match="rate_limit must be a non-negative number"):
            devstripe.configure(rate_limit=value)


def test_the_command_line_sets_stripes_test_mode_limits():
    with DevStripeProcess(rate_limit=25, quiet=True) as process:
        config = process.configure()
        assert (config["rate_limit"], config["endpoint_rate_limit"]) == (25, 25)
        client = sdk_client(process)
        refused, elapsed = burst(lambda: client.v1.charges.list(params={"limit": 1}), 60)
        assert len(refused) >= at_least_refused(60, 25, elapsed)


def test_the_bucket_holds_a_second_and_refills_at_the_rate():
    limiter = RateLimiter()
    allowed = [limiter.take("acct", "GET /v1/charges", 25, 0, now=100.0) for _ in range(30)]
    assert allowed.count(None) == 25
    assert allowed[25:] == ["global-rate"] * 5
    assert limiter.take("acct", "GET /v1/charges", 25, 0, now=100.2) is None  # 5 refilled
    assert [limiter.take("acct", "GET /v1/charges", 25, 0, now=101.2) for _ in range(26)].count(
        None
    ) == 25  # never more than one second's worth
