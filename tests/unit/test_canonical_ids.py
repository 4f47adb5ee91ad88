"""Ids are UUIDs in their one canonical spelling, in paths and bodies alike."""
from __future__ import annotations

import uuid

import pytest

from appointment_svc.entrypoints.convert import uuid_field


@pytest.mark.parametrize(
    "text",
    ["{6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21}", "urn:uuid:6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21",
     "6f1c2a8e2d4b4c559b1e0a7c3f1d9e21", " 6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21", "6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21\n",
     "6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e2", "not-a-uuid"],
    ids=["braces", "urn", "no-hyphens", "leading-space", "trailing-newline", "too-short", "words"],
)  # fmt: skip
def test_only_canonical_uuids_are_ids(text):
    violations = []
    assert uuid_field(text, "bookingId", violations) is None
    assert [(v.field, v.description) for v in violations] == [("bookingId", "must be a UUID")]


def test_a_canonical_uuid_is_an_id_in_either_case():
    value = uuid.uuid4()
    assert uuid_field(str(value).upper(), "slotId", []) == value
