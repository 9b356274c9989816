"""Fail when modules of ``opensspr`` import each other in a cycle, function-level imports included.

import-linter's contracts (pyproject.toml) order packages and layers; they don't see two
modules of one layer importing each other, and a function-level import is the usual way
such a cycle hides (ruff's PLC0415 flags new ones). grimp, which import-linter is built
on, records every import statement wherever it stands, so this finds the strongly
connected groups of modules and prints one shortest loop for each, with line numbers.

Imports under ``if TYPE_CHECKING:`` are left out: they never run, so they can't make an
import cycle, and annotating a protocol with the model it receives is fine.

Usage: .venv/bin/python scripts/check_import_cycles.py   (run by ./dev check)
"""

import sys
from collections import deque
from itertools import pairwise

import grimp

PACKAGE = "opensspr"

# Imports allowed to close a cycle for now, as (importer, imported). Each entry is a debt.
IGNORED: frozenset[tuple[str, str]] = frozenset({})


def import_graph(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if module.split(".")[0] != PACKAGE or ".migrations" in module:
            continue
        edges[module] = {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported.split(".")[0] == PACKAGE and (module, imported) not in IGNORED
        }
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit); groups of two or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def shortest_loop(edges: dict[str, set[str]], group: list[str]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    members = set(group)
    start = group[0]
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(edges[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return group


def main() -> int:
    graph = grimp.build_graph(PACKAGE, cache_dir=None, exclude_type_checking_imports=True)
    edges = import_graph(graph)
    groups = strongly_connected(edges)
    if not groups:
        print(f"No import cycles between the {len(edges)} modules of {PACKAGE}/.")
        return 0
    for group in groups:
        print(f"Import cycle among {len(group)} modules: {', '.join(group)}")
        loop = shortest_loop(edges, group)
        for importer, imported in pairwise(loop):
            lines = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"l.{d['line_number']} {d['line_contents']}" for d in lines)
            print(f"  {importer} -> {imported}  ({where})")
    print(
        f"{len(groups)} import cycle(s). Break each by moving what both sides need "
        "below them; a function-level import hides a cycle, it doesn't break it."
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
