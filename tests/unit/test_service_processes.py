"""How many appointment-service processes `booking-mesh up` runs."""
from __future__ import annotations

import os

import pytest

from booking_mesh.services import PROCESSES_ENV, service_processes


def test_one_process_per_core_by_default():
    assert service_processes({}) == (os.cpu_count() or 1)


def test_the_count_can_be_set():
    assert service_processes({PROCESSES_ENV: "3"}) == 3
    assert service_processes({PROCESSES_ENV: " 1 "}) == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(value):
    with pytest.raises(ValueError, match=PROCESSES_ENV):
        service_processes({PROCESSES_ENV: value})


def test_up_refuses_a_replica_count_that_is_not_a_small_positive_whole_number(capsys):
    from booking_mesh.cli import main

    for value in ("0", "-1", "two", "17"):
        with pytest.raises(SystemExit):
            main(["up", "--replicas", value])
        assert "--replicas" in capsys.readouterr().err


def test_replicas_n_starts_n_of_each_service_one_after_another_each_on_ports_of_its_own(tmp_path, monkeypatch):
    from booking_mesh import cli, services

    started = []
    for kind in (services.AppointmentService, services.NotificationService):
        monkeypatch.setattr(kind, "start", lambda self: started.append(self.name) or "")
    mesh = cli.Mesh()
    appointment = cli._start_appointment_services(tmp_path, {}, mesh, 3)
    notification = cli._start_notification_services(tmp_path, {}, mesh, 3)
    assert started == [f"appointment_svc_{n}" for n in (1, 2, 3)] + [f"notification_svc_{n}" for n in (1, 2, 3)]
    assert mesh.started == [*appointment, *notification]  # supervised, each restarted on its own
    ports = [s.port for s in appointment] + [s.metrics_port for s in appointment] + [s.port for s in notification]
    assert len(set(ports)) == 9
    assert len({s.metrics_url for s in [*appointment, *notification]}) == 6
