"""GET /api/health/, the load balancer's health check: cheap, open to anyone, never
throttled, answered whatever Host the health checker sends."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_the_database_answers(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_health_costs_one_trivial_query(client):
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/health/")
    assert [query["sql"] for query in queries] == ["SELECT 1"]


def test_health_needs_no_login_and_ignores_a_bad_token(client):
    response = client.get("/api/health/", HTTP_AUTHORIZATION="JWT not-a-token")
    assert response.status_code == 200


def test_health_is_never_throttled(client, settings):
    settings.AUTH_THROTTLE_RATE = "1/min"
    statuses = {client.get("/api/health/").status_code for _ in range(30)}
    assert statuses == {200}


def test_health_answers_the_instance_ip_as_host_but_other_paths_do_not(client, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    assert client.get("/api/health/", HTTP_HOST="172.31.20.7").status_code == 200
    assert client.get("/api/product/", HTTP_HOST="172.31.20.7").status_code == 400


def test_health_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/health/").status_code == 200
    assert client.get("/api/product/").status_code == 301


def test_health_only_reads(client):
    assert client.head("/api/health/").status_code == 200
    response = client.post("/api/health/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
