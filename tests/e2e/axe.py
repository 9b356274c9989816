"""Accessibility checks with axe-core in real Chromium: WCAG 2.0, 2.1 and 2.2, A and AA.

axe-core comes from the npm registry (``tests/e2e/package.json``; ``./dev test``
runs ``npm ci`` here). The script is evaluated through the DevTools protocol,
which the page's Content-Security-Policy does not govern, so every page is
checked exactly as it is served: no CSP bypass, no inline script.
"""

import json
from functools import cache
from pathlib import Path

from tests.conftest import require_component

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

#: (page state, rules passed, violations) for every check of this test run.
RESULTS: list[tuple[str, int, int]] = []


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def _describe(state: str, violations: list[dict]) -> str:
    lines = [f"axe found {len(violations)} WCAG violation(s) on the {state!r} page:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"  at {json.dumps(node['target'])}: {node['html'][:200]}")
            if node.get("failureSummary"):
                lines.append("    " + node["failureSummary"].replace("\n", "\n    "))
    return "\n".join(lines)


def assert_accessible(page, state: str) -> None:
    """Run axe on the page as it stands; fail with every violation spelled out."""
    require_component("axe-core (run: cd tests/e2e && npm ci)", AXE_JS.exists())
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    violations = result["violations"]
    RESULTS.append((state, len(result["passes"]), len(violations)))
    print(f"axe: {state}: {len(result['passes'])} rules passed, {len(violations)} violations")
    assert not violations, _describe(state, violations)
