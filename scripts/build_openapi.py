"""Build ``opensspr/api/openapi.json`` from the API's routes and endpoint declarations.

Usage (from the repository root)::

    .venv/bin/python scripts/build_openapi.py            # write the file
    .venv/bin/python scripts/build_openapi.py --check    # exit 1 if it is stale

The document is ``opensspr.api.document.render_document()``: paths from walking
``opensspr.api.urls``, request schemas from the same declarations the parser
enforces. The output depends only on the code, so a re-run gives the same bytes;
tests/api/test_openapi.py fails while the checked-in file is stale.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    # Importing the views needs configured settings; none of these values reach the output.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opensspr.config.settings")
    os.environ.setdefault("OPENSSPR_SECRET_KEY", "build-openapi-only-" + "x" * 32)
    os.environ.setdefault("OPENSSPR_DATA_DIR", tempfile.mkdtemp(prefix="opensspr-openapi-"))
    import django  # noqa: PLC0415 (after the settings environment above)

    django.setup()
    from opensspr.api.document import render_document  # noqa: PLC0415 (after django.setup())
    from opensspr.api.schema import DOCUMENT_PATH  # noqa: PLC0415 (after django.setup())

    rendered = render_document()
    current = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
    if args.check:
        if current != rendered:
            print(f"{DOCUMENT_PATH.relative_to(REPO)} is stale: run scripts/build_openapi.py")
            return 1
        return 0
    DOCUMENT_PATH.write_text(rendered, encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
