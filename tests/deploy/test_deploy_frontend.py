"""scripts/deploy_frontend.py against moto's S3 server on loopback: what lands in the
bucket, with which Content-Type and Cache-Control, and the website configuration; the
Content-Security-Policy written into the page (S3 sends no headers) and the CloudFront
policy that sends it as a header; and the API's CORS grant for that website's origin, and
for no other."""

import base64
import hashlib
import json
import re
import shutil

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.validate import validate_parameters

from stripedemo.csp import SWAGGER_UI_STYLE_HASH
from tests.deploy.conftest import ROOT

BUCKET = "stripedemo-frontend-test"
REGION = "us-west-2"
API_URL = "https://api.example.com"
PUBLISHABLE_KEY = "pk_test_deploy_frontend"


APP_JS = "console.log('shop');"
APP_JS_INTEGRITY = "sha384-" + base64.b64encode(hashlib.sha384(APP_JS.encode()).digest()).decode()
INDEX_HTML = (
    '<!doctype html>\n<html>\n<head>\n  <meta charset="utf-8">\n  <title>shop</title>\n'
    f'  <script src="js/app.js" integrity="{APP_JS_INTEGRITY}"></script>\n</head>\n</html>\n'
)


def directives(policy):
    parsed = {}
    for part in policy.split(";"):
        if part.strip():
            name, *sources = part.split()
            parsed[name] = sources
    return parsed


def policy_meta(page):
    """The content of the page's Content-Security-Policy meta tag, and where it is."""
    tag = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    return tag[1], tag.start()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A small front end: entry page, own code (pinned by its hash), a vendored library,
    and a stale local config.json and a hidden file that must not be uploaded."""
    tmp_path = tmp_path_factory.mktemp("site")
    files = {
        "index.html": INDEX_HTML,
        "js/app.js": APP_JS,
        "css/shop.css": "body { margin: 0 }",
        "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "vendor/jquery/jquery.min.js": "/* jQuery */",
        "vendor/icons/fonts/icons.woff2": "wOF2",
        "vendor/jquery/LICENSE.txt": "MIT",
        "config.json": '{"apiBaseUrl": "http://127.0.0.1:8000"}',
        ".DS_Store": "junk",
    }
    for name, text in files.items():
        path = tmp_path / "frontend" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "frontend"


def s3_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )


def deploy(deploy_frontend, site, endpoint, *extra, bucket=BUCKET):
    return deploy_frontend.main(
        [
            "--bucket", bucket,
            "--region", REGION,
            "--api-url", f"{API_URL}/",
            "--publishable-key", PUBLISHABLE_KEY,
            "--frontend-dir", str(site),
            "--endpoint-url", endpoint,
            *extra,
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def published(deploy_frontend, site, moto_s3):
    """The site deployed once to BUCKET; the S3 client to look at it."""
    assert deploy(deploy_frontend, site, moto_s3) == 0
    return s3_client(moto_s3)


def test_every_file_is_uploaded_with_its_type_and_caching(published):
    s3 = published
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {
        "index.html",
        "config.json",
        "js/app.js",
        "css/shop.css",
        "img/logo.svg",
        "vendor/jquery/jquery.min.js",
        "vendor/icons/fonts/icons.woff2",
        "vendor/jquery/LICENSE.txt",
    }
    expected = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "config.json": ("application/json", "no-cache"),
        "js/app.js": ("text/javascript; charset=utf-8", "no-cache"),
        "css/shop.css": ("text/css; charset=utf-8", "no-cache"),
        "img/logo.svg": ("image/svg+xml", "no-cache"),
        "vendor/jquery/jquery.min.js": ("text/javascript; charset=utf-8", "public, max-age=604800"),
        "vendor/icons/fonts/icons.woff2": ("font/woff2", "public, max-age=604800"),
    }
    for key, (content_type, cache_control) in expected.items():
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache_control), key
    page = s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read().decode()
    content, _ = policy_meta(page)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content}">'
    assert page == INDEX_HTML.replace(
        '<meta charset="utf-8">\n', f'<meta charset="utf-8">\n  {meta}\n'
    )


def test_config_json_is_generated_for_the_api_like_the_api_serves_it(published, client, settings):
    uploaded = published.get_object(Bucket=BUCKET, Key="config.json")["Body"].read()

    settings.FRONTEND_API_BASE_URL = API_URL
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    assert uploaded == client.get("/config.json").content
    assert json.loads(uploaded)["apiBaseUrl"] == "https://api.example.com"


@pytest.mark.django_db
def test_the_page_carries_the_apis_policy_less_what_a_meta_tag_cannot(published, client, settings):
    page = published.get_object(Bucket=BUCKET, Key="index.html")["Body"].read().decode()
    settings.FRONTEND_API_BASE_URL = API_URL
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    header = directives(client.get("/")["Content-Security-Policy"])

    content, position = policy_meta(page)
    meta = directives(content)
    assert position < page.index("<title>") < page.index("<script")  # before what it covers
    assert "frame-ancestors" in header and "frame-ancestors" not in meta
    header["style-src"].remove(SWAGGER_UI_STYLE_HASH)  # the API's docs page, not on S3
    del header["frame-ancestors"]
    assert meta == header
    assert meta["connect-src"] == ["'self'", API_URL, "https://api.stripe.com"]
    assert meta["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]


def test_a_page_whose_script_changed_without_re_pinning_is_not_deployed(
    deploy_frontend, site, moto_s3, tmp_path, capsys
):
    bucket = f"{BUCKET}-stale"
    changed = tmp_path / "frontend"
    shutil.copytree(site, changed)
    (changed / "js" / "app.js").write_text("console.log('skimmed');")

    with pytest.raises(SystemExit) as refused:
        deploy(deploy_frontend, changed, moto_s3, bucket=bucket)

    assert "js/app.js: integrity stale" in str(refused.value)
    assert "scripts/frontend_integrity.py" in str(refused.value)
    buckets = {item["Name"] for item in s3_client(moto_s3).list_buckets()["Buckets"]}
    assert bucket not in buckets  # nothing was uploaded


def test_the_cloudfront_policy_sends_the_whole_policy_as_a_header(
    deploy_frontend, site, tmp_path, capsys
):
    written = tmp_path / "headers-policy.json"
    deploy_frontend.main(
        ["--bucket", BUCKET, "--region", REGION, "--api-url", API_URL,
         "--publishable-key", PUBLISHABLE_KEY, "--frontend-dir", str(site), "--dry-run",
         "--cloudfront-policy", str(written)]
    )  # fmt: skip

    config = json.loads(written.read_text())
    # What `aws cloudfront create-response-headers-policy` accepts (botocore's model).
    cloudfront = botocore.session.get_session().get_service_model("cloudfront")
    shape = cloudfront.operation_model("CreateResponseHeadersPolicy").input_shape
    validate_parameters({"ResponseHeadersPolicyConfig": config}, shape)
    security = config["SecurityHeadersConfig"]
    header = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert security["ContentSecurityPolicy"]["Override"] is True
    assert len(header) <= 1783  # CloudFront's limit for this header's value
    out = capsys.readouterr().out
    meta = out.split("Content-Security-Policy (index.html's meta tag):\n")[1].splitlines()[0]
    assert directives(header) == {**directives(meta), "frame-ancestors": ["'none'"]}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert f"file://{written}" in out


def test_the_bucket_is_a_public_static_website(published):
    s3 = published

    website = s3.get_bucket_website(Bucket=BUCKET)
    assert website["IndexDocument"] == {"Suffix": "index.html"}
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"arn:aws:s3:::{BUCKET}/*"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicAcls"] and block["IgnorePublicAcls"]
    assert not block["BlockPublicPolicy"] and not block["RestrictPublicBuckets"]
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION


def test_a_redeploy_with_delete_removes_files_gone_from_the_site(
    deploy_frontend, site, moto_s3, tmp_path
):
    bucket = f"{BUCKET}-redeploy"
    smaller = tmp_path / "frontend"
    shutil.copytree(site, smaller)
    deploy(deploy_frontend, smaller, moto_s3, bucket=bucket)
    (smaller / "css" / "shop.css").unlink()  # (a file the page names must stay: pinned)
    deploy(deploy_frontend, smaller, moto_s3, "--delete", bucket=bucket)

    keys = {item["Key"] for item in s3_client(moto_s3).list_objects_v2(Bucket=bucket)["Contents"]}
    assert "css/shop.css" not in keys
    assert {"index.html", "config.json", "vendor/jquery/jquery.min.js"} <= keys


def test_dry_run_lists_the_plan_and_changes_nothing(deploy_frontend, site, moto_s3, capsys):
    bucket = f"{BUCKET}-dry-run"
    deploy(deploy_frontend, site, moto_s3, "--dry-run", bucket=bucket)

    out = capsys.readouterr().out
    assert "upload vendor/jquery/jquery.min.js  Content-Type: text/javascript" in out
    assert "Cache-Control: public, max-age=604800" in out
    assert (
        "upload index.html  Content-Type: text/html; charset=utf-8  Cache-Control: no-cache" in out
    )
    assert "configure static website hosting" in out
    buckets = {item["Name"] for item in s3_client(moto_s3).list_buckets()["Buckets"]}
    assert bucket not in buckets


def test_the_real_front_end_is_planned_whole(deploy_frontend, capsys):
    frontend = ROOT / "frontend"
    if not (frontend / "index.html").is_file():
        pytest.skip("frontend/ has no index.html yet")
    files = {
        path.relative_to(frontend).as_posix()
        for path in frontend.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    } - {"config.json"}

    deploy_frontend.main(
        ["--bucket", BUCKET, "--region", REGION, "--api-url", API_URL,
         "--publishable-key", PUBLISHABLE_KEY, "--dry-run"]
    )  # fmt: skip

    planned = {
        line.split()[1]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("upload ")
    }
    assert planned == files | {"config.json"}


def test_the_real_page_gets_the_policy_before_any_style_sheet_or_script(deploy_frontend):
    uploads = deploy_frontend.plan_uploads(
        ROOT / "frontend",
        deploy_frontend.config_json(API_URL, PUBLISHABLE_KEY),
        deploy_frontend.content_security_policy(API_URL),
    )

    page = next(upload for upload in uploads if upload.key == "index.html").body.decode()
    content, position = policy_meta(page)
    assert page.index('<meta charset="utf-8">') < position < page.index("<link")
    assert "script-src 'self' https://js.stripe.com https://*.js.stripe.com" in content


def test_a_secret_key_is_refused_for_the_public_config(deploy_frontend, site, capsys):
    with pytest.raises(SystemExit):
        deploy_frontend.main(
            ["--bucket", BUCKET, "--region", REGION, "--api-url", API_URL,
             "--publishable-key", "sk_live_would_leak", "--frontend-dir", str(site), "--dry-run"]
        )  # fmt: skip
    assert "publishable key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("region", "origin"),
    [
        ("us-west-2", f"http://{BUCKET}.s3-website-us-west-2.amazonaws.com"),
        ("eu-central-1", f"http://{BUCKET}.s3-website.eu-central-1.amazonaws.com"),
    ],
)
def test_the_website_origin_follows_the_region(deploy_frontend, region, origin):
    assert deploy_frontend.website_origin(BUCKET, region) == origin


@pytest.fixture
def cors_for_the_website(deploy_frontend, settings):
    """The API configured as the README says: CORS_ALLOWED_ORIGINS = the website origin."""
    origin = deploy_frontend.website_origin(BUCKET, REGION)
    settings.CORS_ALLOWED_ORIGINS = [origin]
    return origin


def preflight(client, origin):
    return client.options(
        "/api/order/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


@pytest.mark.django_db
def test_the_website_origin_is_granted_cors(client, cors_for_the_website):
    response = preflight(client, cors_for_the_website)
    assert response["Access-Control-Allow-Origin"] == cors_for_the_website
    assert "authorization" in response["Access-Control-Allow-Headers"]
    catalog = client.get("/api/product/", HTTP_ORIGIN=cors_for_the_website)
    assert catalog["Access-Control-Allow-Origin"] == cors_for_the_website


@pytest.mark.django_db
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        f"https://{BUCKET}.s3-website-us-west-2.amazonaws.com",  # another scheme
        f"http://{BUCKET}-copy.s3-website-us-west-2.amazonaws.com",  # another bucket
    ],
)
def test_any_other_origin_gets_no_cors_grant(client, cors_for_the_website, origin):
    assert "Access-Control-Allow-Origin" not in preflight(client, origin)
    assert "Access-Control-Allow-Origin" not in client.get("/api/product/", HTTP_ORIGIN=origin)


def test_the_readmes_cloudfront_policy_is_the_one_the_script_writes(deploy_frontend):
    readme = (ROOT / "README.md").read_text()
    documented = readme.split("`headers-policy.json` looks like this")[1]
    documented = json.loads(documented.split("```json\n")[1].split("```")[0])

    written = deploy_frontend.cloudfront_headers_policy(
        "my-shop-frontend", deploy_frontend.content_security_policy(API_URL)
    )
    assert documented == written
