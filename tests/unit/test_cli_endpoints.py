"""`booking-mesh status` and `token` find the running mesh's home, or say why they cannot."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from booking_mesh import endpoints
from booking_mesh.cli import main
from mesh_common.auth import KeyPair


def an_endpoints(**overrides) -> endpoints.Endpoints:
    values = dict(
        gateway="http://127.0.0.1:8080", postgres="postgresql://postgres@127.0.0.1:5544/booking",
        redis="redis://127.0.0.1:6390/0", nats="nats://127.0.0.1:4300", smtp="smtp://127.0.0.1:2525",
        s3="http://127.0.0.1:8333", grpc=["127.0.0.1:50051", "127.0.0.1:50052"],
    )  # fmt: skip
    return endpoints.Endpoints(**(values | overrides))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKING_MESH_HOME", str(tmp_path))
    return tmp_path


def test_status_prints_every_endpoint_of_the_running_mesh(home, capsys):
    written = endpoints.write(home, an_endpoints())
    assert oct(written.stat().st_mode & 0o777) == "0o600"  # the database URL may hold a password
    assert set(json.loads(written.read_text())) == {"gateway", "grpc", "metrics", "postgres", "redis", "nats", "smtp", "s3", "pid"}
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["gateway", "http://127.0.0.1:8080"]
    assert [line.split()[1] for line in lines if line.startswith("grpc")] == ["127.0.0.1:50051", "127.0.0.1:50052"]
    assert {line.split()[0] for line in lines} == {"gateway", "grpc", "metrics", "postgres", "redis", "nats", "smtp", "s3"}


def test_status_without_a_mesh_says_how_to_start_one(home, capsys):
    assert main(["status"]) == 1
    assert "no running mesh" in capsys.readouterr().err


def test_status_tells_a_crashed_mesh_from_a_running_one(home, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    endpoints.write(home, an_endpoints(pid=gone.pid))
    assert main(["status"]) == 1
    assert "no longer running" in capsys.readouterr().err


def test_token_without_the_mesh_keys_refuses_instead_of_making_new_ones(home, capsys):
    assert main(["token", "--sub", "alice"]) == 1
    err = capsys.readouterr().err
    assert "no mesh keys" in err and "BOOKING_MESH_HOME" in err
    assert not (home / "keys").exists()


def test_token_is_signed_with_the_home_keys_and_says_how_long_it_lives(home, capsys):
    keys = KeyPair.load_or_create(home / "keys")
    assert main(["token", "--sub", "alice", "--ttl", "600"]) == 0
    out, err = capsys.readouterr()
    assert "valid for 600 s" in err
    import jwt

    header = jwt.get_unverified_header(out.strip())
    assert header["kid"] == keys.kid
