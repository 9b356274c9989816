"""Rewrite the activity table in ``docs/operators/audit.md`` from the audit catalogue.

Usage (from the repository root)::

    .venv/bin/python scripts/build_audit_catalogue.py            # write the file
    .venv/bin/python scripts/build_audit_catalogue.py --check    # exit 1 if it is stale

The table (activity, English label, category) is
``opensspr.audit.catalogue_doc.render_table()``, placed between the marker
comments; tests/audit/test_catalogue_doc.py fails while the doc is stale.
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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opensspr.config.settings")
    os.environ.setdefault("OPENSSPR_SECRET_KEY", "build-audit-catalogue-only-" + "x" * 32)
    os.environ.setdefault("OPENSSPR_DATA_DIR", tempfile.mkdtemp(prefix="opensspr-audit-doc-"))
    import django  # noqa: PLC0415 (after the settings environment above)

    django.setup()
    from opensspr.audit.catalogue_doc import DOC_PATH, splice  # noqa: PLC0415 (after setup)

    current = DOC_PATH.read_text(encoding="utf-8")
    rendered = splice(current)
    if args.check:
        if current != rendered:
            print(f"{DOC_PATH.relative_to(REPO)} is stale: run scripts/build_audit_catalogue.py")
            return 1
        return 0
    DOC_PATH.write_text(rendered, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
