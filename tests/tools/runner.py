"""Running a repository tool the way CI does: from the repository root, with a bound."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tool_path(name: str, package: str) -> str:
    """The tool installed beside this interpreter (pip puts it there) or on PATH."""
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(path).exists(), f"{name} CLI missing: pip install {package}"
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
