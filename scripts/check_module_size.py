"""Fail when a module of ``opensspr`` or ``opensspr_agent`` passes 400 lines (migrations aside).

A module that long holds more than one idea: split it where the ideas part (the
writeback doctor's transport checks went to ``doctor_transport.py``). Issue 8 set the
bound; nothing kept it, and one module had passed it unnoticed.

Usage: .venv/bin/python scripts/check_module_size.py   (run by ./dev check)
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("opensspr", "opensspr_agent")
MAX_LINES = 400


def too_long() -> list[tuple[Path, int]]:
    found = []
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in module.relative_to(ROOT).parts:
                continue
            lines = len(module.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                found.append((module.relative_to(ROOT), lines))
    return found


def main() -> int:
    found = too_long()
    for module, lines in found:
        print(f"{module}: {lines} lines, more than {MAX_LINES}: split it where its ideas part")
    if not found:
        print(f"No module of {', '.join(PACKAGES)} passes {MAX_LINES} lines.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
