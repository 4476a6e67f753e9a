"""/api/docs/: Swagger UI served by the shop itself (no CDN), every operation listed, and
"Try it out" working against the shop, logged in with the original clients' header."""

import json
import re

import pytest
import requests
from playwright.sync_api import expect

from catalog.models import Product
from orders.models import Order
from tests.frontend.conftest import DESKTOP, open_page
from tests.helpers import token_for


@pytest.fixture
def docs(browser, shop):
    page = open_page(browser, shop, DESKTOP)
    page.goto("/api/docs/")
    yield page
    page.context.close()
    assert not page.js_errors, f"JavaScript errors on the docs page: {page.js_errors}"


def operation(page, tag, operation_id):
    return page.locator(f"#operations-{tag}-{operation_id}")


def log_in(page, user):
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    jwt_form = dialog.locator("form").filter(has=page.locator("#api_key_value"))
    jwt_form.locator("#api_key_value").fill(f"JWT {token_for(user)}")
    jwt_form.get_by_role("button", name="Apply credentials").click()
    dialog.locator(".close-modal").click()


def try_it(block, body=None):
    """Expand an operation, "Try it out" (with `body` as the request), "Execute"."""
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text(re.compile(r"^\d{3}$"))
    return int(status.inner_text())


@pytest.mark.browser
def test_every_operation_is_listed(docs, api):
    schema = api.get("/api/schema/?format=json").json()

    for item in schema["paths"].values():
        for described in item.values():
            expect(operation(docs, described["tags"][0], described["operationId"])).to_be_visible()


@pytest.mark.browser
def test_try_it_out_buys_with_a_test_token_and_lists_the_order(docs, user, devstripe):
    product_id = Product.objects.get(name="Team Cap").id  # the shop's demo catalog
    log_in(docs, user)

    bought = try_it(
        operation(docs, "orders", "order_create"),
        {"product": product_id, "quantity": 2, "token": "tok_visa"},
    )
    listed = try_it(operation(docs, "orders", "order_list"))

    assert bought == 201
    order = Order.objects.get(user=user)
    assert (order.status, order.amount) == ("PAID", 3400)
    assert listed == 200
    response = operation(docs, "orders", "order_list").locator(".live-responses-table")
    expect(response).to_contain_text(f'"id": {order.id}')


@pytest.mark.server
def test_the_docs_page_loads_swagger_ui_from_the_shop_itself(fuzzed_shop):
    page = requests.get(f"{fuzzed_shop}/api/docs/", timeout=10)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    # Swagger UI's start-up script is a file of its own (no inline script: the CSP).
    start_up = requests.get(f"{fuzzed_shop}/api/docs/?script=", timeout=10)
    assert 'url: "/api/schema/"' in start_up.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/api/docs/?script=" in assets
    assets.remove("/api/docs/?script=")
    assert {asset.rsplit("/", 1)[1].split(".")[0] for asset in assets} == {
        "favicon-32x32",
        "swagger-ui",
        "swagger-ui-bundle",
        "swagger-ui-standalone-preset",
    }
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset  # not a CDN
        response = requests.get(f"{fuzzed_shop}{asset}", timeout=10)
        assert response.status_code == 200, asset
        assert len(response.content) > 500, asset
