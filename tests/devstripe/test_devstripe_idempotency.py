"""Idempotency keys as Stripe documents them (https://docs.stripe.com/api/idempotent_requests),
and the faults that make a client retry: the SDK's retries must end in exactly one charge."""

import threading
import time

import pytest
import stripe

from devstripe.store import Store

from .conftest import sdk_client

CHARGE = {"amount": "1000", "currency": "usd", "source": "tok_visa"}


def charges(client):
    return client.v1.charges.list(params={"limit": 100}).data


def test_same_key_and_parameters_replay_the_saved_answer(http, client):
    first = http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "order-1"})
    again = http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Original-Request"] == first.headers["Request-Id"]
    assert again.headers["Request-Id"] != first.headers["Request-Id"]
    assert [c.id for c in charges(client)] == [first.json()["id"]]


def test_the_sdk_gets_the_same_object_back(devstripe, client):
    params = {"amount": 1000, "currency": "usd", "source": "tok_visa"}
    first = client.v1.charges.create(params=params, options={"idempotency_key": "k"})
    again = client.v1.charges.create(params=params, options={"idempotency_key": "k"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(charges(client)) == 1
    assert [r["replayed"] for r in devstripe.requests(path="/v1/charges", method="POST")] == [
        False,
        True,
    ]


def test_the_same_key_with_other_parameters_is_an_idempotency_error(client):
    client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"},
        options={"idempotency_key": "k"},
    )
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.charges.create(
            params={"amount": 2000, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": "k"},
        )
    assert caught.value.http_status == 400
    assert caught.value.error.type == "idempotency_error"
    assert caught.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'k' if you meant to execute a different "
        "request."
    )
    assert len(charges(client)) == 1


def test_the_same_key_on_another_endpoint_is_an_idempotency_error(client):
    made = client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"},
        options={"idempotency_key": "k"},
    )
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.refunds.create(params={"charge": made.id}, options={"idempotency_key": "k"})
    assert "can only be used for the same endpoint they were first used for" in str(
        caught.value.user_message
    )
    assert "('/v1/charges' vs '/v1/refunds')" in caught.value.user_message


def test_keys_belong_to_their_account(devstripe, client):
    params = {"amount": 1000, "currency": "usd", "source": "tok_visa"}
    mine = client.v1.charges.create(params=params, options={"idempotency_key": "k"})
    other = sdk_client(devstripe, key="sk_test_another_account")
    theirs = other.v1.charges.create(params=params, options={"idempotency_key": "k"})
    assert theirs.id != mine.id


def test_keys_are_at_most_255_characters(http):
    assert http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "k" * 255}).status_code == 200
    too_long = http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["type"] == "invalid_request_error"


def test_a_decline_is_saved_and_replayed_not_charged_again(client):
    params = {"amount": 1000, "currency": "usd", "source": "tok_chargeDeclined"}
    with pytest.raises(stripe.CardError) as first:
        client.v1.charges.create(params=params, options={"idempotency_key": "k"})
    with pytest.raises(stripe.CardError) as again:
        client.v1.charges.create(params=params, options={"idempotency_key": "k"})
    assert again.value.error.charge == first.value.error.charge
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert len(charges(client)) == 1


def test_parameters_that_fail_validation_do_not_use_up_the_key(client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create(
            params={"amount": 10, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": "k"},
        )
    fixed = client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"},
        options={"idempotency_key": "k"},
    )
    assert fixed.status == "succeeded"


def test_a_key_still_in_progress_is_a_409(devstripe, http, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="slow", delay_ms=1000)
    first = {}
    slow = threading.Thread(
        target=lambda: first.update(
            response=http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "k"})
        )
    )
    slow.start()
    time.sleep(0.3)
    meanwhile = http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "k"})
    slow.join()
    assert meanwhile.status_code == 409
    error = meanwhile.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_in_use")
    assert error["message"].startswith(
        "There is currently another in-progress request using this Idempotent Key"
    )
    assert first["response"].status_code == 200
    later = http("POST", "/v1/charges", CHARGE, {"Idempotency-Key": "k"})
    assert later.headers["Idempotent-Replayed"] == "true"
    assert later.json()["id"] == first["response"].json()["id"]
    assert len(charges(client)) == 1


def test_keys_expire_after_24_hours():
    store = Store()
    assert store.begin_idempotent("acct", "k", "POST", "/v1/charges", "{}", "req_1") is None
    store.finish_idempotent("acct", "k", 200, b"{}")
    assert store.begin_idempotent("acct", "k", "POST", "/v1/charges", "{}", "req_2").status == 200
    store.idempotency["acct", "k"].created -= 24 * 60 * 60 + 1
    # Pruned: the same key now starts a new request, even with other parameters.
    assert store.begin_idempotent("acct", "k", "POST", "/v1/charges", "{x}", "req_3") is None


# -- faults, and the SDK's retries (always with the same idempotency key) ----------------


def sent_charges(devstripe):
    return devstripe.requests(path="/v1/charges", method="POST")


def test_error_500_before_any_work_is_retried_into_one_charge(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500")
    made = client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
    )
    first, second = sent_charges(devstripe)
    assert (first["status"], first["fault"]) == (500, "error_500")
    assert (second["status"], second["replayed"]) == (200, False)
    assert first["idempotency_key"] == second["idempotency_key"]
    assert [c.id for c in charges(client)] == [made.id]


def test_error_500_without_retries_is_an_api_error(devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="error_500")
    client = sdk_client(devstripe, max_network_retries=0)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    assert caught.value.http_status == 500
    assert caught.value.error.type == "api_error"
    assert charges(client) == []


def test_drop_before_is_retried_into_one_charge(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_before")
    made = client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
    )
    first, second = sent_charges(devstripe)
    assert (first["status"], first["fault"]) == (None, "drop_before")
    assert (second["status"], second["replayed"]) == (200, False)
    assert [c.id for c in charges(client)] == [made.id]


def test_drop_after_the_work_is_retried_into_the_replay_of_one_charge(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after")
    made = client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
    )
    first, second = sent_charges(devstripe)
    assert (first["status"], first["fault"]) == (None, "drop_after")
    assert (second["status"], second["replayed"]) == (200, True)
    assert [c.id for c in charges(client)] == [made.id]


def test_drop_after_also_drops_replays_while_it_lasts(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after", times=3)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    assert [(r["status"], r["replayed"]) for r in sent_charges(devstripe)] == [
        (None, False),
        (None, True),
        (None, True),
    ]
    assert len(charges(client)) == 1


def test_drop_after_without_retries_leaves_a_charge_the_caller_never_saw(devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="drop_after")
    client = sdk_client(devstripe, max_network_retries=0)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    assert len(charges(client)) == 1


def test_slow_answers_meet_the_in_progress_409_then_the_replay(devstripe):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="slow", delay_ms=1500)
    impatient = sdk_client(
        devstripe, max_network_retries=6, http_client=stripe.RequestsClient(timeout=0.5)
    )
    made = impatient.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
    )
    statuses = [(r["status"], r["replayed"]) for r in sent_charges(devstripe)]
    # The first attempt, answered after the client gave up; then a retry that met it
    # still in progress; at last the replay of its saved answer.
    assert statuses[0] == (200, False)
    assert (409, False) in statuses[1:-1]
    assert statuses[-1] == (200, True)
    assert [c.id for c in charges(impatient)] == [made.id]


def test_rate_limit_is_a_429(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="rate_limit")
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    assert caught.value.http_status == 429
    assert caught.value.error.code == "rate_limit"
    assert charges(client) == []


def test_faults_match_method_and_path_prefix_and_are_used_up(devstripe, client):
    devstripe.add_fault(method="POST", path="/v1/charges", mode="rate_limit", times=2)
    client.v1.charges.list()  # a GET is not affected
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            client.v1.charges.create(
                params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
            )
    assert devstripe.faults() == []
    assert client.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
    ).paid


def test_an_unknown_fault_mode_is_refused(devstripe):
    with pytest.raises(Exception, match="mode must be one of"):
        devstripe.add_fault(path="/v1/charges", mode="explode")
