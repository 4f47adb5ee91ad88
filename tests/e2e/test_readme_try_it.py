"""The README's "Try it" works as pasted, top to bottom, against a freshly started `booking-mesh up`."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.e2e.up_process import Up, command, gateway_port

README = Path(__file__).resolve().parents[2] / "README.md"
# The errors the walk-through shows on purpose: completing and marking a no-show before the start.
SHOWN_ERRORS = ["INVALID_STATUS_TRANSITION", "INVALID_STATUS_TRANSITION"]


def try_it_block() -> str:
    section = README.read_text().split("## Try it", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_try_it_section_runs_as_pasted_and_only_shows_the_errors_it_means_to(tmp_path):
    home = tmp_path / "mesh"
    home.mkdir()
    port = gateway_port()
    up = Up(home, port)
    try:
        up.wait_for("booking-mesh is up:")
        script = try_it_block().replace("GW=http://127.0.0.1:8080", f"GW=http://127.0.0.1:{port}")
        assert script != try_it_block(), "the block no longer sets GW to the default gateway URL"
        # `booking-mesh`, grpcurl and python3 as a newcomer has them after the first quick-start line.
        bin_dir = str(Path(command()[0]).parent)
        env = {**up.env, "PATH": os.pathsep.join([bin_dir, up.env.get("PATH", "")])}
        assert shutil.which("grpcurl", path=env["PATH"]), "grpcurl is not installed with the dev extra"
        ran = subprocess.run(["bash", "-c", script], cwd=home.parent, env=env, capture_output=True, text=True, timeout=300)
    finally:
        assert up.stop() == 0
    assert ran.returncode == 0, ran.stderr
    answers = [line for line in ran.stdout.splitlines() if line.startswith("{")]
    errors = [json.loads(line)["code"] for line in answers if line.startswith('{"code"')]
    assert errors == SHOWN_ERRORS, ran.stdout
    assert len(answers) >= 20 and "Brochure on its way" in ran.stdout and "booking.v1.AppointmentService" in ran.stdout
    assert re.search(r'"status":"CANCELLED".*"cancelReason":"Moving house"', ran.stdout)
    assert "rescheduleCount" in ran.stdout and '"blocked":true' in ran.stdout and '"created":5' in ran.stdout
