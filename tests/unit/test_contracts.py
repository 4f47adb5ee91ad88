"""The checked-in generated code and the protos themselves are kept honest in CI."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_generated_code_matches_the_protos():
    result = run(sys.executable, "scripts/gen_protos.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def buf() -> str:
    path = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    assert Path(path).exists(), "buf CLI missing: pip install buf-bin"
    return path


def test_protos_pass_buf_lint(buf):
    result = run(buf, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_protos_are_buf_formatted(buf):
    result = run(buf, "format", "--diff", "--exit-code")
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_code_passes_ruff():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = run(ruff, "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
