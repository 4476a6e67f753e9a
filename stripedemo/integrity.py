"""Subresource Integrity for the front end: every script and style sheet that
frontend/index.html names is pinned by the sha384 hash of its file, so that a browser
runs it only as it is in the repository (PCI DSS v4.0.1 requirement 6.4.3: the payment
page checks the integrity of each script it runs).

scripts/frontend_integrity.py rewrites the hashes after a file changes; the tests and
scripts/deploy_frontend.py refuse a page whose hashes are stale. Stripe.js is not named
by index.html (js/payment.js loads it) and cannot be pinned: Stripe updates it in place
and asks that it always be loaded from js.stripe.com as it is.

Plain Python, no Django (the deploy script runs outside it). The tags are found with a
regular expression over index.html, which is hand-written and keeps each tag on one line.
"""

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ALGORITHM = "sha384"

TAG = re.compile(r"<(?P<name>script|link)\b(?P<attributes>[^>]*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s=/>]+)(?:\s*=\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^\s>]+)))?"""
)


@dataclass(frozen=True)
class Subresource:
    """One <script src> or <link rel="stylesheet" href> of the page."""

    start: int  # where its tag is in the page
    end: int
    tag: str  # script or link
    attributes: tuple[tuple[str, str | None], ...]  # in order; None for a bare attribute
    url: str

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)


def subresources(page: str) -> list[Subresource]:
    found = []
    for match in TAG.finditer(page):
        attributes = tuple(
            (item["name"].lower(), _value(item)) for item in ATTRIBUTE.finditer(match["attributes"])
        )
        tag = match["name"].lower()
        values = dict(attributes)
        if tag == "script":
            url = values.get("src")
        else:
            url = values.get("href") if (values.get("rel") or "").lower() == "stylesheet" else None
        if url:
            found.append(Subresource(match.start(), match.end(), tag, attributes, url))
    return found


def _value(attribute: re.Match[str]) -> str | None:
    for group in ("double", "single", "bare"):
        if attribute[group] is not None:
            return attribute[group]
    return None  # a bare attribute: async, defer


def file_of(resource: Subresource, site: Path) -> Path | None:
    """The site's file that `resource` names, or None if it names something elsewhere."""
    parts = urlsplit(resource.url)
    if parts.scheme or parts.netloc or parts.path.startswith("/"):
        return None
    path = (site / unquote(parts.path)).resolve()
    return path if path.is_relative_to(site.resolve()) else None


def integrity_of(path: Path) -> str:
    digest = hashlib.new(ALGORITHM, path.read_bytes()).digest()
    return f"{ALGORITHM}-{base64.b64encode(digest).decode()}"


def problems(page: str, site: Path) -> list[str]:
    """What keeps the page from being pinned: a script or style sheet from elsewhere, a
    missing file, or an integrity attribute missing or not the file's hash."""
    found = []
    for resource in subresources(page):
        path = file_of(resource, site)
        if path is None:
            found.append(f"{resource.url}: not a file of the site, so it cannot be pinned")
        elif not path.is_file():
            found.append(f"{resource.url}: no such file")
        elif resource.attribute("integrity") != integrity_of(path):
            state = "missing" if resource.attribute("integrity") is None else "stale"
            found.append(f"{resource.url}: integrity {state}")
    return found


def pin(page: str, site: Path) -> str:
    """The page with each local script's and style sheet's integrity set to its file's
    hash (inserted after src/href, or replaced where it is); the rest is left as it is."""
    pieces = []
    done = 0
    for resource in subresources(page):
        path = file_of(resource, site)
        if path is None or not path.is_file():
            continue
        url_attribute = "src" if resource.tag == "script" else "href"
        attributes: list[tuple[str, str | None]] = []
        for name, value in resource.attributes:
            if name == "integrity":
                continue
            attributes.append((name, value))
            if name == url_attribute:
                attributes.append(("integrity", integrity_of(path)))
        written = "".join(_attribute(name, value) for name, value in attributes)
        pieces += [page[done : resource.start], f"<{resource.tag}{written}>"]
        done = resource.end
    pieces.append(page[done:])
    return "".join(pieces)


def _attribute(name: str, value: str | None) -> str:
    """One attribute as written in a tag; its value as it was in the page (raw HTML)."""
    if value is None:
        return f" {name}"
    return f" {name}='{value}'" if '"' in value else f' {name}="{value}"'
