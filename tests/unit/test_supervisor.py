"""The dev mesh's supervisor: restart the dead with backoff, give up on a crash loop."""
from __future__ import annotations

import pytest

from booking_mesh.supervisor import CrashLoop, Supervisor
from tests.clock import ManualClock


class Component:
    def __init__(self, name: str):
        self.name = name
        self.running = True
        self.starts = 0
        self.kills = 0
        self.refuse_to_start = False

    def is_running(self) -> bool:
        return self.running

    def start(self) -> str:
        if self.refuse_to_start:
            raise RuntimeError("port 1234 is taken\nlog tail ...")
        self.starts += 1
        self.running = True
        return "url"

    def kill(self) -> None:
        self.kills += 1


@pytest.fixture
def mesh():
    said: list[tuple[str, str]] = []
    clock = ManualClock(1000.0)
    parts = [Component("valkey"), Component("gateway")]
    supervisor = Supervisor(parts, lambda name, text: said.append((name, text)), clock=clock)
    return supervisor, parts, clock, said


def test_a_dead_component_is_restarted_after_a_backoff_and_the_others_are_left_alone(mesh):
    supervisor, (valkey, gateway), clock, said = mesh
    valkey.running = False
    supervisor.check()
    assert said == [("valkey", "stopped unexpectedly; restarting in 0.5 s")] and valkey.starts == 0
    clock.now += 0.5
    supervisor.check()
    assert valkey.running and valkey.kills == 1 and valkey.starts == 1 and gateway.starts == 0
    assert said[-1] == ("valkey", "restarted")


def test_the_backoff_doubles_with_each_recent_crash(mesh):
    supervisor, (valkey, _), clock, said = mesh
    for _ in range(3):
        valkey.running = False
        supervisor.check()
        clock.now += 10
        supervisor.check()
    delays = [text for name, text in said if "restarting" in text]
    assert delays == [f"stopped unexpectedly; restarting in {d:g} s" for d in (0.5, 1, 2)]


def test_five_crashes_within_a_minute_stop_the_mesh_with_a_sentence_naming_the_component(mesh):
    supervisor, (valkey, _), clock, _ = mesh
    for _ in range(4):
        valkey.running = False
        supervisor.check()
        clock.now += 9
        supervisor.check()
    valkey.running = False
    with pytest.raises(CrashLoop, match="valkey stopped unexpectedly 5 times within 60 s"):
        supervisor.check()


def test_crashes_spread_over_more_than_the_window_never_stop_the_mesh(mesh):
    supervisor, (valkey, _), clock, _ = mesh
    for _ in range(20):
        valkey.running = False
        supervisor.check()
        clock.now += 30
        supervisor.check()
    assert valkey.starts == 20


def test_a_restart_that_fails_counts_as_a_crash_and_is_tried_again(mesh):
    supervisor, (valkey, _), clock, said = mesh
    valkey.running = False
    valkey.refuse_to_start = True
    supervisor.check()
    clock.now += 0.5
    supervisor.check()
    assert said[-1] == ("valkey", "failed to restart (port 1234 is taken); restarting in 1 s")
    valkey.refuse_to_start = False
    clock.now += 1
    supervisor.check()
    assert valkey.running and said[-1] == ("valkey", "restarted")
