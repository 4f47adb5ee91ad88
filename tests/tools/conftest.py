"""The tools layer: checks that run an external tool over the repository (buf, ruff, code generation,
Envoy's validator, kustomize) rather than importing and calling our code.

Every test under this folder gets the `tools` marker, so `pytest -m "not tools" tests` skips the layer.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.runner import tool_path

HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line("markers", "tools: runs an external tool over the repository (tests/tools)")


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.tools)



@pytest.fixture(scope="session")
def buf() -> str:
    return tool_path("buf", "buf-bin")
