"""Settings that shape the event streams (issue 16: JetStream on three nodes)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from mesh_common.config import EventBusSettings
from mesh_common.events import EventTopology


def test_the_streams_keep_as_many_copies_as_configured_and_one_by_default():
    one = EventTopology.from_settings(EventBusSettings(nats_url="nats://n:4222"))
    three = EventTopology.from_settings(EventBusSettings(nats_url="nats://n:4222", events_stream_replicas=3))
    assert (one.stream_config().num_replicas, one.dlq_config().num_replicas) == (1, 1)
    assert (three.stream_config().num_replicas, three.dlq_config().num_replicas) == (3, 3)


@pytest.mark.parametrize("replicas", [0, 6])
def test_a_replica_count_jetstream_cannot_keep_is_refused_at_start(replicas):
    with pytest.raises(ValidationError):
        EventBusSettings(nats_url="nats://n:4222", events_stream_replicas=replicas)
