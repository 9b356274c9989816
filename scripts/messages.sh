#!/usr/bin/env bash
# Regenerate and compile the translation catalogues, then list what still needs a translator.
#
#   scripts/messages.sh            the Dutch (nl) catalogue
#   scripts/messages.sh nl de      several languages
#
# Run it after adding or changing a user-facing string. makemessages merges the
# new source strings into opensspr/locale/<lang>/LC_MESSAGES/django.po and keeps
# every existing translation (strings that no longer exist are dropped); the
# catalogue is then compiled to django.mo. Commit both files: a fresh machine may
# have no gettext tools. Entries that are untranslated or fuzzy (a guess gettext
# made for a changed string; Django ignores it until a person checks it) are
# listed at the end, and the script exits 1 while there are any, like
# tests/core/test_translations.py does.
#
# Needs GNU gettext (apt-get install gettext) and the project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[ -x "$PYTHON" ] || die "no virtualenv at $ROOT/.venv (run ./dev setup first)"
for tool in xgettext msgmerge msgfmt; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install GNU gettext (apt-get install gettext)"
done

languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=(nl)

# Settings need a key and a data directory to load; neither is used to extract strings.
data_dir=$(mktemp -d "${TMPDIR:-/tmp}/opensspr-messages.XXXXXX")
trap 'rm -rf "$data_dir"' EXIT
export OPENSSPR_SECRET_KEY="messages-only-$(printf 'k%.0s' {1..40})"
export OPENSSPR_DATA_DIR="$data_dir"

lang_args=()
for lang in "${languages[@]}"; do lang_args+=(-l "$lang"); done

# From inside opensspr/ so that the catalogue lands in LOCALE_PATHS (opensspr/locale).
(
  cd "$ROOT/opensspr"
  "$PYTHON" -m opensspr makemessages "${lang_args[@]}" --no-obsolete --ignore='migrations/*'
  "$PYTHON" -m opensspr compilemessages "${lang_args[@]}"
)

"$PYTHON" - "${languages[@]}" <<'PY'
import sys
from pathlib import Path

import polib

missing = 0
for lang in sys.argv[1:]:
    path = Path("opensspr/locale") / lang / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(path))
    entries = [e for e in po if not e.obsolete]
    untranslated = [e for e in entries if not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [e for e in entries if "fuzzy" in e.flags]
    print(f"{path}: {len(entries)} entries, {len(untranslated)} untranslated, {len(fuzzy)} fuzzy")
    for label, group in (("untranslated", untranslated), ("fuzzy", fuzzy)):
        for entry in group:
            where = ", ".join(f"{file}:{line}" for file, line in entry.occurrences)
            print(f"  {label}: {entry.msgid!r}" + (f"  ({where})" if where else ""))
    missing += len(untranslated) + len(fuzzy)
if missing:
    print(f"{missing} entries need a translator: edit the .po file(s), then run scripts/messages.sh again.")
sys.exit(1 if missing else 0)
PY
