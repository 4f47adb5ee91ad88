"""The checked-in generated code and the protos themselves are kept honest in CI."""
from __future__ import annotations

import sys

from tests.tools.runner import run, tool_path


def test_generated_code_matches_the_protos():
    result = run(sys.executable, "scripts/gen_protos.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_protos_pass_buf_lint(buf):
    result = run(buf, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_protos_are_buf_formatted(buf):
    result = run(buf, "format", "--diff", "--exit-code")
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_code_passes_ruff():
    result = run(tool_path("ruff", "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
