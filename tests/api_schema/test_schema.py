"""The API describes itself: /api/schema/ is generated from the code, and the committed
docs/openapi.yaml is that same schema, so any change to the API shows up in review."""

import difflib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
import requests
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from tests.servers import shop_server

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The schema as the code generates it now, validated, with no warning allowed."""
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    call_command("spectacular", file=str(path), validate=True, fail_on_warn=True, stderr=StringIO())
    return path.read_text()


@pytest.fixture(scope="module")
def schema(generated):
    return yaml.safe_load(generated)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_the_committed_schema_is_the_generated_one(generated):
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""

    if committed != generated:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    generated.splitlines(keepends=True),
                    "docs/openapi.yaml (committed)",
                    "generated from the code",
                )
            )[:60]
        )
        pytest.fail(
            f"docs/openapi.yaml differs from the API's code. Regenerate it with\n\n"
            f"    {REGENERATE}\n\nand review the difference:\n{diff}"
        )


@pytest.mark.django_db
def test_the_served_schema_is_the_committed_one(api, schema):
    as_yaml = api.get("/api/schema/")
    as_json = api.get("/api/schema/?format=json")

    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert yaml.safe_load(as_yaml.content) == schema
    assert as_json.json() == schema


@pytest.mark.server
def test_a_fresh_server_answers_its_first_schema_requests_at_once(
    django_db_setup, devstripe_process
):
    # drf-spectacular's lazy loading is not thread-safe: this was 7 answers of 8 a 500.
    together = threading.Barrier(8)

    def fetch(url):
        together.wait()
        return requests.get(f"{url}/api/schema/?format=json", timeout=30).status_code

    with shop_server(devstripe_process, workers=1, threads=8) as url:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(fetch, [url] * 8))

    assert statuses == [200] * 8


def api_routes(patterns=None, prefix=""):
    """Every route of the URLconf under /api/, as OpenAPI paths (`<int:pk>` -> `{id}`)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            yield "/" + re.sub(r"<(?:\w+:)?pk>", "{id}", route)


def test_every_api_route_is_described(schema):
    undescribed = set(api_routes()) - set(schema["paths"]) - {"/api/schema/", "/api/docs/"}

    assert not undescribed, f"routes missing from the schema: {sorted(undescribed)}"


def test_every_operation_is_named_summarised_and_tagged(schema):
    for name, operation in operations(schema):
        assert operation.get("operationId"), name
        assert operation.get("summary"), name
        assert operation.get("tags"), name


def test_every_error_answer_is_the_json_error_envelope(schema):
    components = schema["components"]["schemas"]
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            # The load balancer's health check answers 503 with its own small body.
            if int(status) < 400 or name == "GET /api/health/":
                continue
            body = response["content"]["application/json"]["schema"]
            component = components[body["$ref"].rsplit("/", 1)[1]]
            assert {"success", "error", "detail"} <= set(component["required"]), (name, status)


def test_logged_in_operations_take_either_header_form_and_document_401(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["jwtAuth"]["description"],
    }
    assert schemes["bearerAuth"]["scheme"] == "bearer"

    logged_in = [
        (name, operation)
        for name, operation in operations(schema)
        if {} not in operation.get("security", [{}])
    ]
    assert {name for name, _ in logged_in} == {
        "GET /api/order/",
        "POST /api/order/",
        "GET /api/order/{id}/",
        "POST /api/order/{id}/confirm/",
        "POST /api/order/{id}/pay/",
    }
    for name, operation in logged_in:
        assert operation["security"] == [{"jwtAuth": []}, {"bearerAuth": []}], name
        assert "401" in operation["responses"], name


def test_placing_an_order_documents_every_answer_and_the_idempotency_key(schema):
    operation = schema["paths"]["/api/order/"]["post"]

    assert set(operation["responses"]) == {
        "201", "202", "400", "401", "402", "409", "413", "415", "422", "429", "503",
    }  # fmt: skip
    [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and not key.get("required")
    assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {example["value"].get("token") for example in examples.values()} >= {
        "tok_visa",
        "tok_chargeDeclined",
    }


def test_sign_up_and_login_document_the_throttle(schema):
    for path in ("/api/signup/", "/api/api-token-auth/"):
        throttled = schema["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in throttled["headers"], path
