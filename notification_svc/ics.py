"""iCalendar (RFC 5545) invitations: one UID per booking, SEQUENCE rising with each change."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from booking.v1 import resources_pb2 as res
from notification_svc.formatting import plain_text, services_words, type_words, utc

UID_DOMAIN = "booking-mesh"

# Every message about one booking carries the same UID; a later one must have a higher SEQUENCE
# so calendars apply it over the earlier one (confirmation 0, staff confirmation 1, cancel 2).
SEQUENCE = {"REQUEST": 0, "CONFIRMED": 1, "CANCEL": 2}
# Each move to another slot starts a new round above every number of the rounds before it, so the
# moved invitation replaces whatever the calendar holds and a later confirmation or cancellation
# still replaces the move's (moved once: 3 or 4, then 4 confirmed, 5 cancelled).
SEQUENCE_ROUND = len(SEQUENCE)


def sequence_of(step: str, reschedule_count: int) -> int:
    return SEQUENCE_ROUND * reschedule_count + SEQUENCE[step]


def booking_uid(booking_id: str) -> str:
    return f"{booking_id}@{UID_DOMAIN}"


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _escape(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): a line break becomes `\\n`, other controls are dropped, so
    no input can end the property and start another (a URL:, ATTENDEE: or a second VEVENT)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return plain_text(value, "\\n")


def _param(value: str) -> str:
    """A quoted parameter value may hold neither DQUOTE nor control characters (nor line separators)."""
    return '"' + re.sub('[\x00-\x1f\x7f-\x9f"\u2028\u2029]', "", value) + '"'


def _address(value: str) -> str:
    """A mailto: value: an address never holds controls or separators, so drop any that got here."""
    return re.sub("[\x00-\x20\x7f-\x9f\u2028\u2029;:,\"]", "", value)


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def invitation(
    appointment: res.Appointment,
    *,
    method: str,
    stamp: datetime,
    organizer_name: str,
    organizer_email: str,
    location: str,
    summary: str,
) -> str:
    """A VCALENDAR with one VEVENT; `method` is REQUEST (new or confirmed) or CANCEL."""
    if method == "CANCEL":
        step, status = "CANCEL", "CANCELLED"
    elif appointment.status == res.CONFIRMED:
        step, status = "CONFIRMED", "CONFIRMED"
    else:
        step, status = "REQUEST", "TENTATIVE"
    sequence = sequence_of(step, appointment.reschedule_count)
    customer = f"{appointment.first_name} {appointment.last_name}".strip()
    description = (
        f"Reference {appointment.reference_code}: {type_words(appointment.type)} "
        f"for your {services_words(appointment)} with {appointment.slot.consultant.name or 'our designer'}."
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//booking-mesh//notification-svc//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{booking_uid(appointment.booking_id)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc_stamp(stamp)}",
        f"DTSTART:{_utc_stamp(utc(appointment.slot.starts_at))}",
        f"DTEND:{_utc_stamp(utc(appointment.slot.ends_at))}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
        f"LOCATION:{_escape(location)}",
        f"STATUS:{status}",
        f"ORGANIZER;CN={_param(organizer_name)}:mailto:{_address(organizer_email)}",
        f"ATTENDEE;CN={_param(customer)};ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{_address(appointment.email)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)
