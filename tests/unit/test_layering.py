"""The domain and the use cases import no infrastructure, not even through mesh_common."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("appointment_svc/domain", "appointment_svc/service_layer")
FORBIDDEN = (
    "sqlalchemy",
    "psycopg",
    "redis",
    "nats",
    "grpc",
    "grpc_health",
    "grpc_reflection",
    "google.protobuf",
    "google.rpc",
    "booking",
    "jwt",
    "cryptography",
    "boto3",
    "botocore",
    "appointment_svc.adapters",
    "appointment_svc.entrypoints",
    "appointment_svc.bootstrap",
)


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parts[:-1])


def import_statements(tree: ast.AST, *, in_functions: bool):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not in_functions:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from import_statements(node, in_functions=in_functions)


def imported_modules(path: Path, package: str, *, in_functions: bool = True) -> set[str]:
    """The modules a file imports: every one (TYPE_CHECKING blocks and function bodies included), or
    without `in_functions` only those importing the file runs."""
    found: set[str] = set()
    for node in import_statements(ast.parse(path.read_text(), str(path)), in_functions=in_functions):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def module_file(module: str) -> Path | None:
    for candidate in (ROOT / Path(*module.split(".")).with_suffix(".py"), ROOT / Path(*module.split(".")) / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def violations(start: Path, package: str) -> list[str]:
    """Forbidden imports of `start` and, transitively, of the mesh_common modules it reaches.

    The pure modules themselves may not name infrastructure anywhere. A shared mesh_common module
    may keep a transport-only helper that imports its driver inside the function (the error
    table's `grpc_code`): importing the module, which is all the domain does, still loads no driver.
    """
    found, queue, visited = [], [(start, package)], set()
    while queue:
        path, package = queue.pop()
        if path in visited:
            continue
        visited.add(path)
        for module in sorted(imported_modules(path, package, in_functions=path == start)):
            if is_forbidden(module):
                found.append(f"{path.name} ({package}) imports {module}")
            elif module.split(".")[0] == "mesh_common" and (target := module_file(module)) is not None:
                queue.append((target, package_of(target)))
    return found


PURE_MODULES = sorted(path for package in PURE_PACKAGES for path in (ROOT / package).glob("*.py"))


def test_the_pure_packages_are_found():
    names = {path.stem for path in PURE_MODULES}
    assert {"model", "events", "booking", "unit_of_work", "ports", "brochures"} <= names


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_no_infrastructure(path):
    assert violations(path, package_of(path)) == []


def test_the_check_sees_a_forbidden_import_through_mesh_common_and_a_relative_one(tmp_path):
    # mesh_common.auth needs jwt and cryptography: a use case importing it would drag them in.
    probe = tmp_path / "probe.py"
    probe.write_text("from mesh_common.auth import Principal\n\n\ndef later():\n    from ..adapters import cache\n")
    found = violations(probe, "appointment_svc.service_layer")
    assert "auth.py (mesh_common) imports jwt" in found
    assert "probe.py (appointment_svc.service_layer) imports appointment_svc.adapters" in found
