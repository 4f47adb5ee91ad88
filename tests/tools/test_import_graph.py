"""The project's packages import each other without a cycle, lazy imports inside functions included."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def packages() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(pattern.rstrip("*") for pattern in patterns)


def imported_packages(package: str) -> set[str]:
    known = set(packages())
    found = set()
    for source in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue  # relative imports stay inside the package
            found |= {name.split(".")[0] for name in names} & known
    return found - {package}


def import_graph() -> dict[str, set[str]]:
    return {package: imported_packages(package) for package in packages()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_packages_import_each_other_without_a_cycle():
    graph = import_graph()
    # The dev mesh runs the gateway: an edge this test must see for its answer to mean anything.
    assert "gateway" in graph["booking_mesh"]
    assert cycles(graph) == [], {package: sorted(targets) for package, targets in graph.items()}


def test_the_services_never_import_the_dev_mesh():
    graph = import_graph()
    for service in ("appointment_svc", "notification_svc", "mesh_common", "gateway", "booking"):
        assert "booking_mesh" not in graph[service], service
