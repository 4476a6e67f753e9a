"""Scaling out: two instances behind the load balancer are one shop. Nothing lives on an
instance; logins and throttling counts are shared through the database and the cache
(Django's database cache as documented, or Redis with REDIS_URL)."""

import socket
import uuid

import pytest

from tests.helpers import PASSWORD

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def redis_is_running():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", params=["database cache", "redis"])
def two_instances(request, module_procfile_server):
    """Two gunicorns from the Procfile, same environment, same database and cache."""
    variables = {"THROTTLE_AUTH_RATE": "3/min"}
    if request.param == "redis":
        if not redis_is_running():
            pytest.skip("no Redis on 127.0.0.1:6379")
        variables.update(DATABASE_CACHE="false", REDIS_URL="redis://127.0.0.1:6379/0")
    start = module_procfile_server
    with start(**variables) as first, start(**variables) as second:
        yield first, second


def test_a_login_on_one_instance_is_good_on_the_other(two_instances, user):
    first, second = two_instances
    response = first.post(
        "/api/api-token-auth/", json={"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]

    orders = second.get("/api/order/", headers={"Authorization": f"JWT {token}"})
    assert orders.status_code == 200


WRONG_LOGIN = {"username": "nobody@example.com", "password": "not-the-password"}


def through_the_load_balancer(client, forged=None):
    """X-Forwarded-For as it reaches gunicorn: what the client sent (if anything), its
    address appended by the load balancer, the balancer's appended by nginx."""
    hops = [forged, client, "172.31.7.21"]
    return {"X-Forwarded-For": ", ".join(hop for hop in hops if hop)}


def test_login_throttling_counts_across_instances(two_instances):
    first, second = two_instances
    client = f"client-{uuid.uuid4().hex}"  # new per run: the counts outlive the test

    statuses = [
        instance.post(
            "/api/api-token-auth/", json=WRONG_LOGIN, headers=through_the_load_balancer(client)
        ).status_code
        for instance in (first, second, first, second)
    ]

    assert statuses == [400, 400, 400, 429]
    # Another shopper behind the same load balancer is counted apart.
    someone_else = through_the_load_balancer(f"client-{uuid.uuid4().hex}")
    assert (
        first.post("/api/api-token-auth/", json=WRONG_LOGIN, headers=someone_else).status_code
        == 400
    )


def test_a_forged_forwarded_for_does_not_escape_throttling(two_instances):
    first, second = two_instances
    client = f"client-{uuid.uuid4().hex}"

    statuses = [
        instance.post(
            "/api/api-token-auth/",
            json=WRONG_LOGIN,
            headers=through_the_load_balancer(client, forged=f"forged-{attempt}"),
        ).status_code
        for attempt, instance in enumerate((first, second, first, second))
    ]

    assert statuses[-1] == 429
