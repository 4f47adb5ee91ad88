"""Which emails an event causes, and how each one looks (Jinja2 templates, HTML + plain text)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Callable

from google.protobuf.message import Message
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from mesh_common.clock import utc_now
from mesh_common.events import BOOKING_CANCELLED, BOOKING_CONFIRMED, BOOKING_CREATED, BROCHURE_REQUESTED
from notification_svc import ics
from notification_svc.formatting import london_datetime, london_time, plain_text, services_words, type_words

TEMPLATES = Path(__file__).resolve().parent / "templates"

CONFIRMATION = "booking-confirmation"
TEAM_ALERT = "team-alert"
CANCELLATION = "booking-cancellation"
CONFIRMED = "booking-confirmed"
BROCHURE = "brochure-delivery"

MESSAGE_ID_DOMAIN = "booking-mesh"


@dataclass(frozen=True)
class Delivery:
    """One email an event causes: what (template) and to whom. The unit of idempotency."""

    kind: str
    recipient: str
    team: str | None = None

    def fingerprint(self) -> str:
        # Identifies the recipient without carrying the address itself into keys and ids.
        return hashlib.sha256(self.recipient.strip().lower().encode()).hexdigest()[:24]


def _printable(value):
    """Every value a template prints: one kind of line break, no other control characters.

    The service refuses them at validation; this holds for events stored before it did.
    """
    if isinstance(value, str):
        return plain_text(value, "\n")
    return value


def _environment() -> Environment:
    return Environment(
        finalize=_printable,
        loader=FileSystemLoader(TEMPLATES),
        # HTML templates escape every value; plain-text ones must not (they are not HTML).
        autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _location(appointment: res.Appointment) -> str:
    if appointment.type == res.HOME_MEASUREMENT:
        return f"{appointment.address}, {appointment.postcode}"
    if appointment.type == res.SHOWROOM_VISIT:
        return "Our showroom"
    return "Video call (we will email you the link before the appointment)"


class EmailComposer:
    def __init__(
        self,
        *,
        mail_from: str,
        brand_name: str,
        team_address: Callable[[str], str],
        clock: Callable[[], datetime] = utc_now,
    ):
        self._mail_from = mail_from
        self._organizer_name, self._organizer_email = parseaddr(mail_from)
        self._brand = brand_name
        self._team_address = team_address
        self._clock = clock
        self._env = _environment()

    def plan(self, subject: str, event: Message) -> list[Delivery]:
        """Every email the event causes; raises ValueError for an event no email can be made from."""
        if subject == BROCHURE_REQUESTED:
            if not event.email:
                raise ValueError("brochure request without an email address")
            return [Delivery(BROCHURE, event.email)]
        appointment = event.appointment
        if not event.HasField("appointment") or not appointment.booking_id or not appointment.email:
            raise ValueError(f"{subject} event without an appointment, booking id or email")
        if not appointment.slot.HasField("starts_at"):
            raise ValueError(f"{subject} event without the slot's start time")
        if subject == BOOKING_CREATED:
            deliveries = [Delivery(CONFIRMATION, appointment.email)]
            for wanted, team in ((appointment.for_kitchen, "kitchen"), (appointment.for_bedroom, "bedroom")):
                if wanted:
                    deliveries.append(Delivery(TEAM_ALERT, self._team_address(team), team))
            return deliveries
        if subject == BOOKING_CANCELLED:
            return [Delivery(CANCELLATION, appointment.email)]
        if subject == BOOKING_CONFIRMED:
            return [Delivery(CONFIRMED, appointment.email)]
        raise ValueError(f"no emails are defined for {subject}")

    def render(self, subject: str, event: Message, delivery: Delivery, *, brochure_pdf: bytes | None = None) -> EmailMessage:
        if delivery.kind == BROCHURE:
            if brochure_pdf is None:
                raise ValueError("the brochure email needs the brochure PDF")
            return self._brochure(event, delivery, brochure_pdf)
        return self._booking(event, delivery)

    # -- messages

    def _message(self, event: Message, delivery: Delivery, subject_line: str, context: dict) -> EmailMessage:
        context = {**context, "brand": self._brand}
        message = EmailMessage()
        message["Subject"] = subject_line
        message["From"] = self._mail_from
        message["To"] = delivery.recipient
        message["Date"] = format_datetime(self._clock())
        # Deterministic: a re-send after a crash carries the same id, so mail systems can spot it.
        message["Message-ID"] = f"<{event.event_id}.{delivery.kind}.{delivery.fingerprint()}@{MESSAGE_ID_DOMAIN}>"
        message["X-Booking-Mesh-Event"] = event.event_id
        message.set_content(self._env.get_template(f"{delivery.kind}.txt.j2").render(context))
        message.add_alternative(self._env.get_template(f"{delivery.kind}.html.j2").render(context), subtype="html")
        return message

    def _booking(self, event: Message, delivery: Delivery) -> EmailMessage:
        appointment: res.Appointment = event.appointment
        context = {
            "a": appointment,
            "kind": type_words(appointment.type),
            "when": london_datetime(appointment.slot.starts_at),
            "until": london_time(appointment.slot.ends_at) if appointment.slot.HasField("ends_at") else "",
            "services": services_words(appointment),
            "consultant": appointment.slot.consultant.name,
            "location": _location(appointment),
            "team": delivery.team or "",
            "other_team": "bedroom" if delivery.team == "kitchen" else "kitchen",
            "both_teams": appointment.for_kitchen and appointment.for_bedroom,
            "cancel_reason": appointment.cancel_reason,
        }
        ref = appointment.reference_code
        if delivery.kind == CONFIRMATION:
            subject_line = f"Booking confirmation {ref}: your {context['kind']} on {context['when']}"
        elif delivery.kind == TEAM_ALERT:
            subject_line = f"New {delivery.team} booking {ref}: {context['kind']} on {context['when']}"
        elif delivery.kind == CANCELLATION:
            subject_line = f"Cancelled {ref}: your {context['kind']} on {context['when']}"
        elif delivery.kind == CONFIRMED:
            subject_line = f"Confirmed {ref}: your {context['kind']} on {context['when']}"
        else:
            raise ValueError(f"unknown email kind {delivery.kind}")
        message = self._message(event, delivery, subject_line, context)
        if delivery.kind in (CONFIRMATION, CANCELLATION, CONFIRMED):
            method = "CANCEL" if delivery.kind == CANCELLATION else "REQUEST"
            calendar = ics.invitation(
                appointment,
                method=method,
                stamp=event.occurred_at.ToDatetime(tzinfo=timezone.utc) if event.HasField("occurred_at") else self._clock(),
                organizer_name=self._organizer_name or self._brand,
                organizer_email=self._organizer_email,
                location=context["location"],
                summary=f"{self._brand}: {context['kind']} ({ref})",
            )
            message.add_attachment(
                calendar.encode("utf-8"),
                maintype="text",
                subtype="calendar",
                filename="cancellation.ics" if method == "CANCEL" else "invitation.ics",
                params={"method": method, "charset": "utf-8"},
            )
        return message

    def _brochure(self, event: events_pb2.BrochureRequested, delivery: Delivery, pdf: bytes) -> EmailMessage:
        message = self._message(event, delivery, f"Your {self._brand} brochure", {"r": event})
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="brochure.pdf")
        return message
