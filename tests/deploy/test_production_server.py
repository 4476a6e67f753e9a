"""Production mode as on an instance behind the load balancer: the Procfile's gunicorn
in the documented environment serves the shop with HTTPS, HSTS, host checking, efficient
static files and one log line per event, and its health check tells the truth."""

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.deploy.conftest import run_procfile_server
from tests.servers import free_port


@pytest.fixture(scope="module")
def server(released, tmp_path_factory):
    with run_procfile_server(tmp_path_factory.mktemp("production"), released.environment) as s:
        yield s


def test_the_health_checker_gets_200_over_http_with_the_instance_ip_as_host(server):
    response = server.get("/api/health/", host="172.31.20.7", https=False)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_plain_http_through_the_load_balancer_is_redirected_to_https(server):
    response = server.get("/api/product/", https=False)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://api.example.com/api/product/"


def test_https_through_the_load_balancer_serves_the_api_with_hsts(server):
    response = server.get("/api/product/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts


def test_an_unknown_host_is_refused_with_json(server):
    response = server.get("/api/product/", host="evil.example")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert "evil.example" not in response.text


def test_errors_are_json_never_a_debug_page(server):
    response = server.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert "Traceback" not in response.text and "DEBUG" not in response.text


def test_static_files_are_hashed_compressed_and_cached_for_ever(server, released):
    css = next(released.static_root.glob("admin/css/base.*.css"))
    path = f"/static/{css.relative_to(released.static_root).as_posix()}"
    response = server.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=315360000" in response.headers["Cache-Control"]


def test_logs_are_one_line_per_request_with_its_id_and_no_secret(server, released):
    response = server.get("/api/product/", headers={"X-Request-Id": "deploy-test-request-1"})
    assert response.headers["X-Request-Id"] == "deploy-test-request-1"
    events = [json.loads(line) for line in server.log.splitlines()]
    access = [event for event in events if event["request_id"] == "deploy-test-request-1"]
    assert len(access) == 1
    assert (access[0]["path"], access[0]["status_code"]) == ("/api/product/", 200)
    secrets = [
        released.environment[name]
        for name in ("DJANGO_SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    ]
    for secret in secrets:
        assert secret not in server.log


def test_every_line_is_json_gunicorns_own_and_a_forged_request_lines_too(server):
    """A request line gunicorn cannot parse is logged by gunicorn itself ("Invalid request
    from ip=…: <the line>"): quoted inside its message like the app's lines."""
    forged = b"GET /api/x order_id=42 status=PAID HTTP/1.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", urlsplit(server.url).port), timeout=10) as sock:
        sock.sendall(forged)
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")
    server.get("/api/x%20order_id=42%20status=PAID", headers={"X-Request-Id": "forged-1"})

    events = [json.loads(line) for line in server.log.splitlines()]
    assert all(isinstance(event, dict) for event in events)
    assert not [event for event in events if "order_id" in event or "status" in event]
    [invalid] = [event for event in events if event["message"].startswith("Invalid request")]
    assert (invalid["logger"], invalid["level"]) == ("gunicorn.error", "WARNING")
    assert "order_id=42" in invalid["message"]
    [access] = [
        event
        for event in events
        if event["logger"] == "stripedemo.access" and event["request_id"] == "forged-1"
    ]
    assert (access["path"], access["status_code"]) == ("/api/x order_id=42 status=PAID", 404)
    assert any(event["message"].startswith("Booting worker") for event in events)


def test_the_health_check_answers_503_when_the_database_is_unreachable(
    procfile_server,
):
    nowhere = f"mysql://shop:db-password-not-in-logs@127.0.0.1:{free_port()}/shop"
    with procfile_server(DATABASE_URL=nowhere) as unhealthy:
        response = unhealthy.get("/api/health/", host="10.0.1.23", https=False)
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"status": "unavailable", "database": "unavailable"}
        assert "health check failed: database unavailable" in unhealthy.log
        assert "db-password-not-in-logs" not in unhealthy.log + response.text
