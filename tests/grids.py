"""A slot encoder for tests of the availability use case: fixed-width ids, readable back without protobuf."""
from __future__ import annotations

from uuid import UUID

from appointment_svc.domain.model import Slot

_WIDTH = 32


def encode_ids(slot: Slot) -> bytes:
    return slot.id.bytes + slot.consultant.id.bytes


def decode_ids(body: bytes) -> list[tuple[UUID, UUID]]:
    """(slot id, consultant id) of every slot in an encoded grid, in order."""
    assert len(body) % _WIDTH == 0, "a grid cut anywhere but between two slots"
    return [(UUID(bytes=body[i : i + 16]), UUID(bytes=body[i + 16 : i + _WIDTH])) for i in range(0, len(body), _WIDTH)]


def slot_ids(body: bytes) -> list[UUID]:
    return [slot_id for slot_id, _ in decode_ids(body)]
