"""Subresource Integrity: frontend/index.html pins every script and style sheet it names
by its file's hash (stripedemo/integrity.py), so that a change to one without re-pinning
fails here, in CI, before a browser refuses it. scripts/frontend_integrity.py re-pins.
(A browser refusing a changed file: tests/frontend/test_csp.py.)
"""

import base64
import hashlib
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from stripedemo import integrity

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"


@pytest.fixture(scope="module")
def frontend_integrity():
    """scripts/frontend_integrity.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location(
        "frontend_integrity", ROOT / "scripts" / "frontend_integrity.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def site(tmp_path):
    """A copy of frontend/ to change."""
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND, copy)
    return copy


def sri(path):
    """The hash as `openssl dgst -sha384 -binary FILE | openssl base64 -A` gives it."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def test_every_script_and_style_sheet_of_the_page_is_pinned_by_its_files_hash():
    page = (FRONTEND / "index.html").read_text()

    tags = re.findall(r"<script\b[^>]*>|<link\b[^>]*rel=\"stylesheet\"[^>]*>", page)
    pinned = dict(re.findall(r'(?:src|href)="([^"]+)" integrity="([^"]+)"', page))
    assert len(tags) == len(pinned) >= 14  # every one of them, jQuery and Bootstrap included
    for url, value in pinned.items():
        assert value == sri(FRONTEND / url), f"{url}: run scripts/frontend_integrity.py"
    assert integrity.problems(page, FRONTEND) == []


def test_a_script_changed_without_re_pinning_is_caught(frontend_integrity, site, capsys):
    with (site / "js" / "payment.js").open("a") as script:
        script.write("\n// changed\n")

    assert frontend_integrity.main(["--check", "--frontend-dir", str(site)]) == 1
    assert "js/payment.js: integrity stale" in capsys.readouterr().err


def test_re_pinning_changes_only_the_changed_files_hash(frontend_integrity, site):
    before = (site / "index.html").read_text()
    with (site / "vendor" / "jquery" / "jquery.min.js").open("a") as script:
        script.write("\n/* upgraded */\n")

    assert frontend_integrity.main(["--frontend-dir", str(site)]) == 0

    after = (site / "index.html").read_text()
    assert frontend_integrity.main(["--check", "--frontend-dir", str(site)]) == 0
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    [(old, new)] = changed
    assert 'src="vendor/jquery/jquery.min.js"' in new
    assert sri(site / "vendor" / "jquery" / "jquery.min.js") in new and new != old


def test_a_missing_hash_is_added_next_to_the_address(site):
    page = '<script src="js/app.js" defer></script>\n<link rel="stylesheet" href="css/shop.css">'

    pinned = integrity.pin(page, site)

    assert pinned == (
        f'<script src="js/app.js" integrity="{sri(site / "js" / "app.js")}" defer></script>\n'
        f'<link rel="stylesheet" href="css/shop.css" integrity="{sri(site / "css" / "shop.css")}">'
    )
    assert integrity.problems(pinned, site) == []


@pytest.mark.parametrize(
    "tag",
    [
        '<script src="https://cdn.example/jquery.js"></script>',
        '<script src="//cdn.example/jquery.js"></script>',
        '<script src="../outside.js"></script>',
        '<link rel="stylesheet" href="https://cdn.example/bootstrap.css">',
    ],
)
def test_a_script_or_style_sheet_from_elsewhere_is_refused(site, tag):
    [problem] = integrity.problems(tag, site)

    assert "not a file of the site" in problem
    assert integrity.pin(tag, site) == tag


def test_a_script_whose_file_is_gone_is_reported(site):
    [problem] = integrity.problems('<script src="js/gone.js"></script>', site)

    assert problem == "js/gone.js: no such file"
