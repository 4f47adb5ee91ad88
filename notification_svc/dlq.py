"""The dead-letter stream, for operators: list what was given up on, and replay it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mesh_common import events
from mesh_common.events import MSG_ID_HEADER, EventTopology


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    event_id: str
    reason: str
    deliveries: str
    failed_at: str
    stored_at: datetime | None
    payload: bytes


async def list_dead_letters(js: JetStreamContext, topology: EventTopology) -> list[DeadLetter]:
    letters = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(topology.dlq_stream, seq=seq, subject=topology.subject("dlq.>"), next=True)
        except NotFoundError:
            return letters
        headers = raw.headers or {}
        letters.append(
            DeadLetter(
                seq=raw.seq,
                subject=headers.get(events.DLQ_ORIGINAL_SUBJECT, ""),
                event_id=headers.get(events.DLQ_EVENT_ID, ""),
                reason=headers.get(events.DLQ_REASON, ""),
                deliveries=headers.get(events.DLQ_DELIVERIES, ""),
                failed_at=headers.get(events.DLQ_FAILED_AT, ""),
                stored_at=raw.time,
                payload=raw.data or b"",
            )
        )
        seq = raw.seq + 1


async def replay(js: JetStreamContext, topology: EventTopology, letter: DeadLetter) -> None:
    """Publish the payload to its original subject again, then remove it from the dead-letter stream.

    The new message's Nats-Msg-Id is derived from the dead-letter sequence, not the event id: the
    event id is still inside the duplicate window and would be dropped. The consumer dedupes on the
    event id in the payload, so only emails that were never sent go out.
    """
    await js.publish(
        topology.subject(letter.subject),
        letter.payload,
        headers={MSG_ID_HEADER: f"replay-{topology.dlq_stream}-{letter.seq}", "Dlq-Replayed-From": str(letter.seq)},
    )
    await js.delete_msg(topology.dlq_stream, letter.seq)


def find(letters: list[DeadLetter], ident: str) -> DeadLetter | None:
    """By dead-letter sequence number (as `dlq list` shows) or by event id."""
    for letter in letters:
        if ident == str(letter.seq) or (letter.event_id and ident == letter.event_id):
            return letter
    return None
