"""The Content-Security-Policy header (stripedemo/csp.py, stripedemo/csp_middleware.py):
on every answer of the shop, the front end's files included, and built from the settings
so that it allows the shop, the API and the Stripe.js in use, and nothing else.

(In a browser, under the policy: tests/frontend/test_csp.py. The S3 site's <meta> copy:
tests/deploy/test_deploy_frontend.py.)
"""

import base64
import hashlib
import re
from pathlib import Path

import drf_spectacular
import pytest

from stripedemo.csp import SWAGGER_UI_STYLE_HASH, build_policy, header_value, meta_value

pytestmark = pytest.mark.django_db

STRIPE_JS = "https://js.stripe.com/v3/"
DEVSTRIPE_JS = "http://127.0.0.1:12111/v3/"


def directives(header):
    parsed = {}
    for part in header.split(";"):
        if part.strip():
            name, *sources = part.split()
            parsed[name] = sources
    return parsed


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # index.html, answered by WhiteNoise
        ("/index.html", 302),  # WhiteNoise's redirect to /
        ("/js/payment.js", 200),
        ("/config.json", 200),
        ("/api/product/", 200),
        ("/api/health/", 200),
        ("/api/no-such-thing/", 404),  # a JSON error
        ("/api/docs/", 200),
        ("/admin/login/", 200),
    ],
)
def test_every_answer_carries_the_policy(client, settings, path, status):
    settings.STRIPE_JS_URL = STRIPE_JS

    response = client.get(path)

    assert response.status_code == status
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_with_stripe_the_page_may_load_frame_and_call_only_what_stripe_documents(client, settings):
    settings.STRIPE_JS_URL = STRIPE_JS
    settings.FRONTEND_API_BASE_URL = ""

    policy = directives(client.get("/")["Content-Security-Policy"])

    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"],
        "style-src": ["'self'", SWAGGER_UI_STYLE_HASH],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "https://api.stripe.com"],
        "frame-src": [
            "https://js.stripe.com",
            "https://*.js.stripe.com",
            "https://hooks.stripe.com",
        ],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def test_with_devstripe_its_address_stands_in_for_stripes(client, settings):
    settings.STRIPE_JS_URL = DEVSTRIPE_JS

    policy = directives(client.get("/")["Content-Security-Policy"])

    assert policy["script-src"] == ["'self'", "http://127.0.0.1:12111"]
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:12111"]
    assert policy["frame-src"] == ["http://127.0.0.1:12111"]
    assert not any("stripe.com" in source for sources in policy.values() for source in sources)


def test_an_api_elsewhere_may_be_called_and_show_its_images(client, settings):
    settings.STRIPE_JS_URL = STRIPE_JS
    settings.FRONTEND_API_BASE_URL = "https://api.example.com/"

    policy = directives(client.get("/")["Content-Security-Policy"])

    assert policy["connect-src"] == ["'self'", "https://api.example.com", "https://api.stripe.com"]
    assert policy["img-src"] == ["'self'", "data:", "https://api.example.com"]


@pytest.mark.parametrize("stripe_js_url", [STRIPE_JS, DEVSTRIPE_JS])
def test_no_inline_script_and_no_eval_are_ever_allowed(stripe_js_url):
    policy = build_policy(stripe_js_url=stripe_js_url, api_base_url="https://api.example.com")

    everything = " ".join(source for sources in policy.values() for source in sources)
    assert "unsafe" not in everything
    assert "'strict-dynamic'" not in everything
    assert "*" not in " ".join(policy["connect-src"])  # no wildcard to send card data to


def test_the_meta_tag_policy_is_the_header_without_what_a_meta_tag_ignores():
    policy = build_policy(stripe_js_url=STRIPE_JS, api_base_url="https://api.example.com")

    header, meta = directives(header_value(policy)), directives(meta_value(policy))

    assert "frame-ancestors" in header and "frame-ancestors" not in meta
    assert meta == {name: sources for name, sources in header.items() if name != "frame-ancestors"}


def test_swagger_ui_s_inline_style_is_allowed_by_its_hash_in_the_installed_template():
    template = (
        Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
    ).read_text()
    [style] = re.findall(r"<style>(.*?)</style>", template, re.DOTALL)

    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert SWAGGER_UI_STYLE_HASH == f"'sha256-{digest}'"


def test_the_api_docs_page_runs_no_inline_script(client):
    page = client.get("/api/docs/").content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts and all(
        "src=" in attributes and not body.strip() for attributes, body in scripts
    )
    start_up = client.get("/api/docs/?script=")
    assert start_up["Content-Type"].startswith("application/javascript")
    assert 'url: "/api/schema/"' in start_up.content.decode()


def test_the_front_end_page_runs_no_inline_script_and_no_inline_style():
    page = (Path(__file__).resolve().parent.parent / "frontend" / "index.html").read_text()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts and all(
        "src=" in attributes and not body.strip() for attributes, body in scripts
    )
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no onclick= and the like
