"""The front end's Content-Security-Policy, built in one place for both ways the page is
served: as a header on every answer of the shop (stripedemo.csp_middleware) and as a
`<meta http-equiv>` written into index.html by scripts/deploy_frontend.py for S3, which
cannot send headers of its own. Plain Python, no Django: the deploy script runs outside
it, so the caller passes what comes from settings or from its command line.

PCI DSS v4.0.1 requirement 6.4.3: a payment page runs only the scripts it authorises.
Here that is the shop's own files ('self', each pinned by its `integrity` hash in
index.html, see scripts/frontend_integrity.py) and Stripe.js. No inline script, no eval.
"""

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

# What Stripe documents that Stripe.js needs (docs.stripe.com/security/guide, "Content
# Security Policy", the set for Stripe.js). Its https://maps.googleapis.com is for the
# Address Element's autocomplete, which the shop does not use, so it is left out.
STRIPE_JS_ORIGIN = "https://js.stripe.com"
STRIPE_SCRIPT_SOURCES = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME_SOURCES = (
    "https://js.stripe.com",
    "https://*.js.stripe.com",
    "https://hooks.stripe.com",
)
STRIPE_CONNECT_SOURCES = ("https://api.stripe.com",)

# Directives a browser ignores in a <meta> policy (CSP Level 3, "meta element"): only a
# header can say who may frame the page or where to report.
HEADER_ONLY_DIRECTIVES = ("frame-ancestors", "report-uri", "report-to", "sandbox")

# drf-spectacular's Swagger UI page (/api/docs/) has one inline <style> block; its hash
# lets exactly that block in (tests/test_content_security_policy.py recomputes it from
# the installed template, so an upgrade that changes it fails there, not in a browser).
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

Policy = dict[str, tuple[str, ...]]


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute http(s) URL, as a CSP source expression."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def stripe_sources(stripe_js_url: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(script, frame, connect) sources for the Stripe.js the page loads.

    Stripe's own Stripe.js gets Stripe's documented set. Any other URL is devstripe's
    stand-in: it loads from, calls and frames its 3-D Secure page from that one origin.
    The browser's Stripe traffic follows Stripe.js, never STRIPE_API_BASE (where the
    server's SDK goes); locally the settings derive the one from the other.
    """
    origin = origin_of(stripe_js_url)
    if origin == STRIPE_JS_ORIGIN:
        return STRIPE_SCRIPT_SOURCES, STRIPE_FRAME_SOURCES, STRIPE_CONNECT_SOURCES
    return (origin,), (origin,), (origin,)


def build_policy(
    *, stripe_js_url: str, api_base_url: str = "", inline_style_hashes: Iterable[str] = ()
) -> Policy:
    """The directives, in order. `api_base_url` is the API as the page calls it: "" for
    the same origin (Django serving the page), the API's origin for the S3 site."""
    script, frame, connect = stripe_sources(stripe_js_url)
    api = (origin_of(api_base_url),) if api_base_url else ()
    return {
        "default-src": ("'self'",),
        "script-src": ("'self'", *script),
        "style-src": ("'self'", *inline_style_hashes),
        # Bootstrap's CSS draws its icons (select arrow, close button) as data: SVGs;
        # product images come from the API's /static/.
        "img-src": ("'self'", "data:", *api),
        "font-src": ("'self'",),
        "connect-src": ("'self'", *api, *connect),
        "frame-src": frame,
        "object-src": ("'none'",),
        "base-uri": ("'none'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'none'",),
    }


def header_value(policy: Mapping[str, Iterable[str]]) -> str:
    """The Content-Security-Policy header's value."""
    return "; ".join(" ".join((name, *sources)) for name, sources in policy.items())


def meta_value(policy: Mapping[str, Iterable[str]]) -> str:
    """The same policy for a <meta http-equiv> tag, without what a meta tag cannot carry."""
    return header_value(
        {name: sources for name, sources in policy.items() if name not in HEADER_ONLY_DIRECTIVES}
    )
