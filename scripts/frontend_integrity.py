#!/usr/bin/env python3
"""Pins frontend/index.html's scripts and style sheets by their Subresource Integrity hashes.

    .venv/bin/python scripts/frontend_integrity.py          # rewrite the hashes
    .venv/bin/python scripts/frontend_integrity.py --check  # exit 1 if one is stale

Run it after changing a file of js/, css/ or vendor/ that index.html names: the browser
refuses a script whose hash differs, and the tests (tests/frontend/test_integrity.py) and
scripts/deploy_frontend.py refuse a page with a stale hash. How the hashes are found and
written: stripedemo/integrity.py.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stripedemo import integrity  # noqa: E402

FRONTEND_DIR = ROOT / "frontend"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--frontend-dir", default=str(FRONTEND_DIR))
    args = parser.parse_args(argv)

    site = Path(args.frontend_dir)
    index = site / "index.html"
    page = index.read_text(encoding="utf-8")
    if args.check:
        found = integrity.problems(page, site)
        for problem in found:
            print(f"frontend_integrity: index.html: {problem}", file=sys.stderr)
        if found:
            print("frontend_integrity: run scripts/frontend_integrity.py", file=sys.stderr)
        return 1 if found else 0
    pinned = integrity.pin(page, site)
    if pinned != page:
        index.write_text(pinned, encoding="utf-8")
    for problem in integrity.problems(pinned, site):  # what pinning cannot fix
        print(f"frontend_integrity: index.html: {problem}", file=sys.stderr)
        return 1
    count = len(integrity.subresources(pinned))
    print(f"frontend_integrity: {count} files pinned" + ("" if pinned != page else ", unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
