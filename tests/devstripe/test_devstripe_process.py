"""devstripe as a process and an HTTP server: startup line, shutdown, keys, errors,
CORS, the files it serves, and requests overlapping under latency."""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import stripe

import devstripe as devstripe_package
from devstripe.params import decode_form
from devstripe.testing import DevStripeProcess

from .conftest import sdk_client

ROOT = Path(devstripe_package.__file__).resolve().parent.parent


def test_prints_one_listening_line_then_stops_cleanly_on_sigterm():
    with DevStripeProcess(quiet=True) as process:
        assert process.url.startswith("http://127.0.0.1:")
        assert process.port > 0
        assert process.health()["status"] == "ok"
        assert process.stop() == 0
        assert process.process.stdout.closed


def test_a_port_already_taken_is_reported_with_the_log(devstripe):
    command = [sys.executable, "-m", "devstripe", "--port", str(devstripe.port)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode != 0
    assert "Address already in use" in result.stderr
    assert result.stdout == ""


def test_every_answer_has_a_request_id_and_a_content_length(http):
    response = http("GET", "/v1/charges")
    assert response.status_code == 200
    assert response.headers["Request-Id"].startswith("req_")
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.json() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/charges",
    }


def test_forms_decode_with_stripes_bracket_notation():
    assert decode_form(
        "amount=100&metadata[order_id]=42&metadata[note]=&payment_method_types[0]=card"
        "&payment_method_types[1]=link&expand[]=a&expand[]=b&card[address][city]=Paris"
    ) == {
        "amount": "100",
        "metadata": {"order_id": "42", "note": ""},
        "payment_method_types": ["card", "link"],
        "expand": ["a", "b"],
        "card": {"address": {"city": "Paris"}},
    }


def test_the_sdk_keeps_its_connection_alive(devstripe):
    session = requests.Session()
    client = sdk_client(devstripe, http_client=stripe.RequestsClient(session=session))
    client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
    for _ in range(3):
        client.v1.charges.list()
    # One TCP connection for all four: HTTP/1.1 keep-alive with correct lengths.
    pools = session.adapters["http://"].poolmanager.pools
    [pool] = [pools[key] for key in pools.keys()]
    assert pool.num_connections == 1


def test_no_api_key_is_a_401_in_stripes_words(devstripe):
    response = requests.get(devstripe.url + "/v1/charges", timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")


def test_an_unknown_key_is_refused_without_echoing_it(devstripe):
    key = "sk_live_" + "x" * 20 + "1234"
    with pytest.raises(stripe.AuthenticationError) as caught:
        sdk_client(devstripe, key=key).v1.charges.list()
    assert caught.value.http_status == 401
    assert key not in caught.value.user_message
    assert caught.value.user_message.startswith("Invalid API Key provided: sk_live_****")


def test_an_unknown_url_is_a_404_in_stripes_words(http):
    response = http("POST", "/v1/nothing")
    assert response.status_code == 404
    assert response.headers["Request-Id"].startswith("req_")
    assert response.json()["error"]["message"].startswith(
        "Unrecognized request URL (POST: /v1/nothing)."
    )


def test_cors_preflight_and_headers_let_stripejs_call_from_another_origin(devstripe):
    preflight = requests.options(
        devstripe.url + "/v1/tokens",
        headers={
            "Origin": "http://shop.localhost:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    answer = requests.get(devstripe.url + "/v1/charges", timeout=10)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/v3", "/v3/"])
def test_the_stripejs_stand_in_is_served(devstripe, path):
    response = requests.get(devstripe.url + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert "window.Stripe = Stripe" in response.text
    assert "devstripe test card form" in response.text


def test_the_request_log_never_holds_a_key_or_a_card_number(devstripe):
    requests.post(
        devstripe.url + "/v1/tokens",
        data={
            "key": devstripe.publishable_key,
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2040",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    [record] = devstripe.requests(path="/v1/tokens")
    assert record["key_kind"] == "publishable"
    assert record["status"] == 200
    assert "key" not in record["params"]
    assert record["params"]["card"] == {
        "number": "************4242",
        "exp_month": "12",
        "exp_year": "2040",
        "cvc": "***",
    }
    assert devstripe.publishable_key not in str(devstripe.requests())


def test_the_request_log_filters_by_method_and_path(devstripe, client):
    client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
    client.v1.charges.list()
    assert [r["method"] for r in devstripe.requests(path="/v1/charges")] == ["POST", "GET"]
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1
    assert len(devstripe.requests(path="/v1/*")) == 2


def test_latency_delays_requests_without_serialising_them(devstripe, client):
    devstripe.configure(latency_ms=300)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        charges = list(
            pool.map(
                lambda i: client.v1.charges.create(
                    params={"amount": 1000 + i, "currency": "usd", "source": "tok_visa"}
                ),
                range(20),
            )
        )
    elapsed = time.monotonic() - started
    assert len({c.id for c in charges}) == 20
    assert 0.3 <= elapsed < 2.0, elapsed  # 20 x 300 ms one after another would be 6 s


def test_reset_forgets_objects_but_keeps_the_config(devstripe, client):
    devstripe.configure(latency_ms=1)
    client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
    devstripe.reset()
    assert client.v1.charges.list().data == []
    assert [r["method"] for r in devstripe.requests()] == ["GET"]  # only that list
    assert devstripe.configure()["latency_ms"] == 1
