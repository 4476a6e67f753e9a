#!/usr/bin/env python3
"""Publish the shop's front end (frontend/) to an S3 bucket served as a static website.

    .venv/bin/python scripts/deploy_frontend.py --bucket my-shop-frontend --region us-west-2 \\
        --api-url https://api.example.com --publishable-key pk_live_... [--dry-run]

1. Writes config.json for the API's public URL and the Stripe publishable key, built by
   the function that builds the API's own /config.json (stripedemo/frontend_config.py,
   with the order limit and currency decimals); a local frontend/config.json is skipped.
2. Writes the Content-Security-Policy into the uploaded index.html as a
   `<meta http-equiv>` tag (S3 sends no headers of its own), the policy the API sends as
   a header (stripedemo/csp.py) with this API's origin and Stripe's. A meta policy cannot
   say who may frame the page (frame-ancestors) nor where to report: put CloudFront in
   front with the response headers policy that --cloudfront-policy writes for that.
   Refuses a page whose scripts' integrity hashes are stale (scripts/frontend_integrity.py).
3. Uploads every file under frontend/ with its Content-Type and Cache-Control:
   vendor/ (third-party libraries) cached for a week, everything else revalidated on
   every load (`no-cache`: index.html and config.json must never be stale, and the shop's
   own files are not fingerprinted). Assets go first, index.html and config.json last, so
   a visitor never gets a page that names files not uploaded yet.
4. Creates the bucket if needed, makes it a static website (index.html) and lets anyone
   read its objects (a bucket policy; Block Public Access stays on for ACLs).
5. Prints the website origin, to put in the API's CORS_ALLOWED_ORIGINS.

--dry-run prints what it would do and touches nothing (no AWS credentials needed).
--delete also removes objects that are no longer in frontend/.
--cloudfront-policy FILE writes a CloudFront response headers policy (the same CSP as a
header, with frame-ancestors) for `aws cloudfront create-response-headers-policy`.
Credentials come from boto3's usual chain (AWS_PROFILE or --profile, the AWS_*
variables, SSO, an instance role), never from the repository. --endpoint-url sends the
requests to another S3-compatible server (the tests use moto's).
"""

import argparse
import json
import mimetypes
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The shop's own modules that build config.json and the Content-Security-Policy, and
# check the integrity hashes (plain Python: no Django needed here).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orders.limits import ORDER_MAX_QUANTITY  # noqa: E402
from stripedemo import csp, frontend_config, integrity  # noqa: E402

FRONTEND_DIR = ROOT / "frontend"
STRIPE_JS_URL = "https://js.stripe.com/v3/"

# Vendored libraries change only when scripts/vendor-frontend bumps them, but their file
# names carry no version or hash: a week, not a year, so a bump reaches every visitor.
VENDOR_CACHE_CONTROL = "public, max-age=604800"
NO_CACHE = "no-cache"
# Uploaded last, in this order: the entry points that name every other file.
ENTRY_POINTS = ("config.json", "index.html")

# Where the policy goes in index.html: right after <meta charset> (else <head>), as a meta
# policy governs only what comes after it.
CHARSET_META = re.compile(r"<meta\s+charset=[^>]*>", re.IGNORECASE)
HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
POLICY_META = re.compile(r"<meta\s[^>]*http-equiv=[\"']?content-security-policy", re.IGNORECASE)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}

# S3 website endpoints: these older regions use "s3-website-<region>", all others
# "s3-website.<region>" (AWS docs, "Website endpoints").
DASH_WEBSITE_REGIONS = {
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-west-1",
    "sa-east-1",
    "us-gov-west-1",
}


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    content_type: str
    cache_control: str


def config_json(api_url, publishable_key, stripe_js_url=STRIPE_JS_URL):
    """The front end's config.json, built as stripedemo.views.frontend_config builds it."""
    config = frontend_config.build_config(
        api_base_url=api_url,
        stripe_publishable_key=publishable_key,
        stripe_js_url=stripe_js_url,
        max_quantity=ORDER_MAX_QUANTITY,
    )
    return frontend_config.config_json(config)


def content_security_policy(api_url, stripe_js_url=STRIPE_JS_URL):
    """The policy for the S3 site: the API's, with the API at its own origin."""
    return csp.build_policy(stripe_js_url=stripe_js_url, api_base_url=api_url)


def with_policy_meta(page, policy):
    """index.html with the policy's <meta http-equiv> tag first thing in its <head>."""
    if POLICY_META.search(page):
        raise SystemExit("deploy_frontend: index.html already has a Content-Security-Policy")
    anchor = CHARSET_META.search(page) or HEAD.search(page)
    if anchor is None:
        raise SystemExit(
            "deploy_frontend: index.html has no <head> for the Content-Security-Policy"
        )
    line_start = page.rfind("\n", 0, anchor.start()) + 1
    indent = page[line_start : anchor.start()]
    indent = indent if indent.isspace() else ""
    # The policy has no double quote, & or <; the escape keeps it so if that ever changes.
    content = (
        csp.meta_value(policy).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    )
    tag = f'<meta http-equiv="Content-Security-Policy" content="{content}">'
    return f"{page[: anchor.end()]}\n{indent}{tag}{page[anchor.end() :]}"


def cloudfront_headers_policy(bucket, policy):
    """A CloudFront ResponseHeadersPolicyConfig sending the policy as a header, with what a
    meta tag cannot say (frame-ancestors), and the headers the API sends too."""
    return {
        "Name": re.sub(r"[^A-Za-z0-9_-]", "-", f"{bucket}-security-headers")[:128],
        "Comment": "Stripe Demo shop front end: CSP (scripts from the shop and Stripe only)",
        "SecurityHeadersConfig": {
            "ContentSecurityPolicy": {
                "ContentSecurityPolicy": csp.header_value(policy),
                "Override": True,
            },
            "FrameOptions": {"FrameOption": "DENY", "Override": True},
            "ContentTypeOptions": {"Override": True},
            "ReferrerPolicy": {"ReferrerPolicy": "same-origin", "Override": True},
            "StrictTransportSecurity": {
                "AccessControlMaxAgeSec": 31536000,
                "IncludeSubdomains": True,
                "Override": True,
            },
        },
    }


def content_type(key):
    suffix = Path(key).suffix.lower()
    if not suffix:  # LICENSE, README
        return "text/plain; charset=utf-8"
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def cache_control(key):
    return VENDOR_CACHE_CONTROL if key.startswith("vendor/") else NO_CACHE


def plan_uploads(frontend_dir, config, policy):
    """Every file to upload, entry points last; hidden files and a local config.json
    skipped; index.html with the policy's meta tag, refused if its hashes are stale."""
    frontend_dir = Path(frontend_dir)
    keys = sorted(
        path.relative_to(frontend_dir).as_posix()
        for path in frontend_dir.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(frontend_dir).parts)
    )
    bodies = {key: (frontend_dir / key).read_bytes() for key in keys if key != "config.json"}
    bodies["config.json"] = config.encode()
    if "index.html" not in bodies:
        raise SystemExit(f"deploy_frontend: no index.html in {frontend_dir}")
    page = bodies["index.html"].decode("utf-8")
    stale = integrity.problems(page, frontend_dir)
    if stale:
        raise SystemExit(
            "deploy_frontend: index.html's integrity hashes do not match its files "
            f"({'; '.join(stale)}): run scripts/frontend_integrity.py"
        )
    bodies["index.html"] = with_policy_meta(page, policy).encode("utf-8")
    ordered = [key for key in sorted(bodies) if key not in ENTRY_POINTS] + list(ENTRY_POINTS)
    return [Upload(key, bodies[key], content_type(key), cache_control(key)) for key in ordered]


def describe(upload):
    return (
        f"upload {upload.key}  Content-Type: {upload.content_type}  "
        f"Cache-Control: {upload.cache_control}"
    )


def website_origin(bucket, region):
    separator = "-" if region in DASH_WEBSITE_REGIONS else "."
    return f"http://{bucket}.s3-website{separator}{region}.amazonaws.com"


def public_read_policy(bucket):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadForWebsite",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


def ensure_bucket(s3, bucket, region, say):
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("301", "PermanentRedirect"):
            raise SystemExit(
                f"deploy_frontend: bucket {bucket!r} is in another region than {region}: "
                "pass its --region."
            ) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise SystemExit(
                f"deploy_frontend: cannot use bucket {bucket!r} ({code}): it belongs to another "
                "account or these credentials may not read it."
            ) from None
    say(f"create bucket {bucket} in {region}")
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def publish(s3, bucket, region, uploads, delete=False, say=print):
    ensure_bucket(s3, bucket, region, say)
    for upload in uploads:
        say(describe(upload))
        s3.put_object(
            Bucket=bucket,
            Key=upload.key,
            Body=upload.body,
            ContentType=upload.content_type,
            CacheControl=upload.cache_control,
        )
    if delete:
        wanted = {upload.key for upload in uploads}
        stale = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
            if item["Key"] not in wanted
        ]
        for start in range(0, len(stale), 1000):
            batch = stale[start : start + 1000]
            for key in batch:
                say(f"delete {key}")
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
    say("configure static website hosting: index document index.html")
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "index.html"},
        },
    )
    say("allow public reads: bucket policy s3:GetObject for everyone (ACLs stay blocked)")
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Publish frontend/ to an S3 static website bucket.",
        epilog="Credentials: the usual AWS environment variables, profile or role.",
    )
    parser.add_argument("--bucket", required=True, help="bucket name (created if missing)")
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="bucket region (default: AWS_REGION or AWS_DEFAULT_REGION)",
    )
    parser.add_argument(
        "--api-url", required=True, help="the API's public URL, e.g. https://api.example.com"
    )
    parser.add_argument(
        "--publishable-key",
        default=os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
        help="Stripe publishable key pk_... (default: STRIPE_PUBLISHABLE_KEY)",
    )
    parser.add_argument("--stripe-js-url", default=STRIPE_JS_URL)
    parser.add_argument(
        "--cloudfront-policy",
        metavar="FILE",
        help="also write a CloudFront response headers policy (JSON) with the CSP to FILE",
    )
    parser.add_argument("--frontend-dir", default=str(FRONTEND_DIR))
    parser.add_argument("--profile", help="AWS profile to use (default: boto3's usual chain)")
    parser.add_argument("--endpoint-url", help="another S3-compatible endpoint (tests)")
    parser.add_argument("--delete", action="store_true", help="remove objects not in frontend/")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)

    if not args.region:
        parser.error("--region is required (or set AWS_REGION)")
    api = urlsplit(args.api_url)
    if api.scheme not in ("http", "https") or not api.netloc or api.path not in ("", "/"):
        parser.error("--api-url must be the API's origin, like https://api.example.com")
    args.api_url = f"{api.scheme}://{api.netloc}"
    if not args.publishable_key.startswith("pk_"):
        # config.json is public: a secret (sk_) or restricted (rk_) key must never go there.
        parser.error("--publishable-key must be a Stripe publishable key (pk_...)")
    return args


def main(argv=None):
    args = parse_args(argv)
    policy = content_security_policy(args.api_url, args.stripe_js_url)
    uploads = plan_uploads(
        args.frontend_dir,
        config_json(args.api_url, args.publishable_key, args.stripe_js_url),
        policy,
    )
    origin = website_origin(args.bucket, args.region)
    if args.cloudfront_policy:
        Path(args.cloudfront_policy).write_text(
            json.dumps(cloudfront_headers_policy(args.bucket, policy), indent=2) + "\n"
        )
        print(
            f"wrote {args.cloudfront_policy}: aws cloudfront create-response-headers-policy "
            f"--response-headers-policy-config file://{args.cloudfront_policy}"
        )
    if args.dry_run:
        print(f"dry run: nothing is changed. Bucket {args.bucket} in {args.region}:")
        print(f"ensure bucket {args.bucket} exists (create it in {args.region} if missing)")
        for upload in uploads:
            print(describe(upload))
        if args.delete:
            print("delete objects not listed above")
        print("configure static website hosting: index document index.html")
        print("allow public reads: bucket policy s3:GetObject for everyone (ACLs stay blocked)")
        config = next(upload for upload in uploads if upload.key == "config.json")
        print(f"config.json:\n{config.body.decode()}", end="")
        print(f"Content-Security-Policy (index.html's meta tag):\n{csp.meta_value(policy)}")
    else:
        import boto3
        from botocore.config import Config

        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        s3 = session.client(
            "s3",
            endpoint_url=args.endpoint_url,
            config=Config(s3={"addressing_style": "path"}) if args.endpoint_url else None,
        )
        publish(s3, args.bucket, args.region, uploads, delete=args.delete)
        print(f"published {len(uploads)} files.")
    print(f"website: {origin}/")
    print(f'then let it call the API: eb setenv CORS_ALLOWED_ORIGINS="{origin}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
