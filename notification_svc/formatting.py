"""How text, times, appointment types and services read in a British email."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from booking.v1 import resources_pb2 as res
from mesh_common.clock import LONDON

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class TypeWords:
    """How an appointment type reads in an email: its name in a sentence and where it takes place."""

    words: str
    location: Callable[[res.Appointment, str], str]  # (appointment, the showroom's address)


_VIDEO_CALL = "Video call (we will email you the link before the appointment)"

# One row per appointment type of the protos (a unit test holds every type to a row).
TYPE_WORDS = {
    res.HOME_MEASUREMENT: TypeWords("home measurement visit", lambda a, showroom: f"{a.address}, {a.postcode}"),
    res.SHOWROOM_VISIT: TypeWords("showroom visit", lambda a, showroom: showroom or "Our showroom"),
    res.VIDEO_CONSULTATION: TypeWords("video consultation", lambda a, showroom: _VIDEO_CALL),
}
# A type this service does not know (an event from a newer producer): generic words and no
# address to send anyone to.
_UNKNOWN_TYPE = TypeWords("appointment", lambda a, showroom: _VIDEO_CALL)


# Whatever a reader might take as the end of a line: CRLF, a lone CR or LF, NEL, LS and PS.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# Every other C0/C1 control and DEL; tab stays.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(value: str, line_break: str) -> str:
    """`value` with each kind of line break written as `line_break` and every other control character dropped."""
    return _CONTROL.sub("", _LINE_BREAK.sub(lambda _: line_break, value))


def utc(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=timezone.utc)


def london(ts: Timestamp) -> datetime:
    return utc(ts).astimezone(LONDON)


def london_datetime(ts: Timestamp) -> str:
    """`Tuesday 3 March 2026, 10:00` in London time (GMT or BST, whichever applies that day)."""
    t = london(ts)
    return f"{_DAYS[t.weekday()]} {t.day} {_MONTHS[t.month - 1]} {t.year}, {t:%H:%M}"


def london_time(ts: Timestamp) -> str:
    return f"{london(ts):%H:%M}"


def type_words(kind: int) -> str:
    return TYPE_WORDS.get(kind, _UNKNOWN_TYPE).words


def location_words(appointment: res.Appointment, showroom: str = "") -> str:
    """Where the appointment happens; `showroom`: the showroom's address (SHOWROOM_ADDRESS)."""
    return TYPE_WORDS.get(appointment.type, _UNKNOWN_TYPE).location(appointment, showroom)


def services(appointment: res.Appointment) -> list[str]:
    """The services the customer wants, by name; each is also the name of the team that plans it."""
    return [name for wanted, name in ((appointment.for_kitchen, "kitchen"), (appointment.for_bedroom, "bedroom")) if wanted]


def services_words(appointment: res.Appointment) -> str:
    return " and ".join(services(appointment)) or "none"
