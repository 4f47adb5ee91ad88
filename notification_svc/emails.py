"""Which emails an event causes (the EVENT_EMAILS registry) and how each one looks (Jinja2, HTML + plain text)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Callable

from google.protobuf.message import Message
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from booking.v1 import resources_pb2 as res
from mesh_common.clock import utc_now
from mesh_common.events import (
    BOOKING_CANCELLED,
    BOOKING_CONFIRMED,
    BOOKING_CREATED,
    BOOKING_REMINDER_DUE,
    BOOKING_RESCHEDULED,
    BROCHURE_REQUESTED,
    recipient_fingerprint,
)
from notification_svc import ics
from notification_svc.formatting import (
    location_words,
    london_datetime,
    london_time,
    plain_text,
    services,
    services_words,
    type_words,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"

CONFIRMATION = "booking-confirmation"
TEAM_ALERT = "team-alert"
TEAM_CANCELLATION_ALERT = "team-cancellation-alert"
CANCELLATION = "booking-cancellation"
CONFIRMED = "booking-confirmed"
RESCHEDULED = "booking-rescheduled"
TEAM_RESCHEDULE_ALERT = "team-reschedule-alert"
REMINDER = "booking-reminder"
BROCHURE = "brochure-delivery"

MESSAGE_ID_DOMAIN = "booking-mesh"


@dataclass(frozen=True)
class Delivery:
    """One email an event causes: what (template) and to whom. The unit of idempotency."""

    kind: str
    recipient: str
    team: str | None = None

    def fingerprint(self) -> str:
        return recipient_fingerprint(self.recipient)


class _HeaderClasses(HeaderRegistry):
    """The standard registry, minus its cost: it builds a new class for every header it parses
    (``type(...)`` per ``__getitem__``), the largest share of the CPU an email took to build."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def map_to_type(self, name: str, cls: type) -> None:
        super().map_to_type(name, cls)
        self._made.clear()


# policy.default with the caching registry: the same headers, parsed and folded the same way.
POLICY = policy.default.clone(header_factory=_HeaderClasses())


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
        # The templates ship with the code: compiled once, never re-checked on disk per email.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# Who gets an email of the event: (recipient, team) pairs; the event has passed its EventEmails.check.
Recipients = Callable[[Message, Callable[[str], str]], list[tuple[str, str | None]]]


@dataclass(frozen=True)
class Email:
    """One kind of email: who gets it, its templates (`<name>.txt.j2`, `<name>.html.j2`), subject and attachments."""

    name: str
    recipients: Recipients
    context: Callable[[Message, Delivery], dict]
    subject: Callable[[dict], str]
    # An iCalendar invitation with this METHOD is attached (REQUEST or CANCEL).
    calendar: str | None = None
    # The brochure PDF is attached (the consumer fetches it only for these).
    brochure: bool = False


@dataclass(frozen=True)
class EventEmails:
    """What an event causes: a check that it carries what the emails need, then the emails."""

    check: Callable[[str, Message], None]
    emails: tuple[Email, ...]


def _check_booking(subject: str, event: Message) -> None:
    appointment = event.appointment
    if not event.HasField("appointment") or not appointment.booking_id or not appointment.email:
        raise ValueError(f"{subject} event without an appointment, booking id or email")
    if not appointment.slot.HasField("starts_at"):
        raise ValueError(f"{subject} event without the slot's start time")


def _check_brochure(subject: str, event: Message) -> None:
    if not event.email:
        raise ValueError("brochure request without an email address")


def _customer(event: Message, team_address: Callable[[str], str]) -> list[tuple[str, str | None]]:
    return [(event.appointment.email, None)]


def _teams(event: Message, team_address: Callable[[str], str]) -> list[tuple[str, str | None]]:
    return [(team_address(team), team) for team in services(event.appointment)]


def _requester(event: Message, team_address: Callable[[str], str]) -> list[tuple[str, str | None]]:
    return [(event.email, None)]


def _booking_context(event: Message, delivery: Delivery) -> dict:
    appointment: res.Appointment = event.appointment
    return {
        "a": appointment,
        "ref": appointment.reference_code,
        "kind": type_words(appointment.type),
        "when": london_datetime(appointment.slot.starts_at),
        "until": london_time(appointment.slot.ends_at) if appointment.slot.HasField("ends_at") else "",
        "services": services_words(appointment),
        "consultant": appointment.slot.consultant.name,
        "team": delivery.team or "",
        "other_team": "bedroom" if delivery.team == "kitchen" else "kitchen",
        "both_teams": appointment.for_kitchen and appointment.for_bedroom,
        "cancel_reason": appointment.cancel_reason,
    }


def _rescheduled_context(event: Message, delivery: Delivery) -> dict:
    previous = event.previous_slot
    return {
        **_booking_context(event, delivery),
        "previous_when": london_datetime(previous.starts_at) if previous.HasField("starts_at") else "",
        "previous_consultant": previous.consultant.name,
    }


def _brochure_context(event: Message, delivery: Delivery) -> dict:
    return {"r": event}


# The registry: a new email is one Email here plus its two templates.
EVENT_EMAILS = {
    BOOKING_CREATED: EventEmails(_check_booking, (
        Email(CONFIRMATION, _customer, _booking_context,
              lambda c: f"Booking request received {c['ref']}: your {c['kind']} on {c['when']}", calendar="REQUEST"),
        Email(TEAM_ALERT, _teams, _booking_context, lambda c: f"New {c['team']} booking {c['ref']}: {c['kind']} on {c['when']}"),
    )),
    BOOKING_CANCELLED: EventEmails(_check_booking, (
        Email(CANCELLATION, _customer, _booking_context,
              lambda c: f"Cancelled {c['ref']}: your {c['kind']} on {c['when']}", calendar="CANCEL"),
        Email(TEAM_CANCELLATION_ALERT, _teams, _booking_context,
              lambda c: f"Cancelled {c['team']} booking {c['ref']}: {c['kind']} on {c['when']}"),
    )),
    BOOKING_CONFIRMED: EventEmails(_check_booking, (
        Email(CONFIRMED, _customer, _booking_context,
              lambda c: f"Confirmed {c['ref']}: your {c['kind']} on {c['when']}", calendar="REQUEST"),
    )),
    BOOKING_RESCHEDULED: EventEmails(_check_booking, (
        Email(RESCHEDULED, _customer, _rescheduled_context,
              lambda c: f"Booking {c['ref']} rescheduled: your {c['kind']} is now on {c['when']}", calendar="REQUEST"),
        Email(TEAM_RESCHEDULE_ALERT, _teams, _rescheduled_context,
              lambda c: f"Rescheduled {c['team']} booking {c['ref']}: {c['kind']} now on {c['when']}"),
    )),
    # The invitation again, same UID and SEQUENCE: a calendar that lost it gets it back unchanged.
    BOOKING_REMINDER_DUE: EventEmails(_check_booking, (
        Email(REMINDER, _customer, _booking_context,
              lambda c: f"Reminder {c['ref']}: your {c['kind']} on {c['when']}", calendar="REQUEST"),
    )),
    BROCHURE_REQUESTED: EventEmails(_check_brochure, (
        Email(BROCHURE, _requester, _brochure_context, lambda c: f"Your {c['brand']} brochure", brochure=True),
    )),
}  # fmt: skip

EMAILS = {email.name: email for planned in EVENT_EMAILS.values() for email in planned.emails}

_CALENDAR_FILES = {"REQUEST": "invitation.ics", "CANCEL": "cancellation.ics"}


class EmailComposer:
    def __init__(
        self,
        *,
        mail_from: str,
        brand_name: str,
        team_address: Callable[[str], str],
        clock: Callable[[], datetime] = utc_now,
        change_notice_hours: int = 24,
        showroom_address: str = "",
        booking_url: str = "",
    ):
        self._mail_from = mail_from
        self._showroom = showroom_address
        self._booking_url = booking_url
        self._notice_hours = change_notice_hours
        self._organizer_name, self._organizer_email = parseaddr(mail_from)
        self._brand = brand_name
        self._team_address = team_address
        self._clock = clock
        self._env = _environment()

    def plan(self, subject: str, event: Message) -> list[Delivery]:
        """Every email the event causes; raises ValueError for an event no email can be made from."""
        planned = EVENT_EMAILS.get(subject)
        if planned is None:
            raise ValueError(f"no emails are defined for {subject}")
        planned.check(subject, event)
        return [
            Delivery(email.name, recipient, team)
            for email in planned.emails
            for recipient, team in email.recipients(event, self._team_address)
        ]

    def render(self, subject: str, event: Message, delivery: Delivery, *, brochure_pdf: bytes | None = None) -> EmailMessage:
        email = EMAILS.get(delivery.kind)
        if email is None:
            raise ValueError(f"unknown email kind {delivery.kind}")
        if email.brochure and brochure_pdf is None:
            raise ValueError("the brochure email needs the brochure PDF")
        context = {
            **email.context(event, delivery), "brand": self._brand, "notice_hours": self._notice_hours,
            "booking_url": self._booking_url,
        }  # fmt: skip
        if "a" in context:  # a booking's email: where it happens, which for a showroom visit is configured here
            context["location"] = location_words(context["a"], self._showroom)
        message = self._message(event, delivery, email.subject(context), context)
        if email.calendar:
            self._attach_invitation(message, event, email.calendar, context)
        if email.brochure:
            message.add_attachment(brochure_pdf, maintype="application", subtype="pdf", filename="brochure.pdf")
        return message

    def _message(self, event: Message, delivery: Delivery, subject_line: str, context: dict) -> EmailMessage:
        message = EmailMessage(policy=POLICY)
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

    def _attach_invitation(self, message: EmailMessage, event: Message, method: str, context: dict) -> None:
        appointment: res.Appointment = event.appointment
        calendar = ics.invitation(
            appointment,
            method=method,
            stamp=event.occurred_at.ToDatetime(tzinfo=timezone.utc) if event.HasField("occurred_at") else self._clock(),
            organizer_name=self._organizer_name or self._brand,
            organizer_email=self._organizer_email,
            location=context["location"],
            summary=f"{self._brand}: {context['kind']} ({context['ref']})",
        )
        message.add_attachment(
            calendar.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=_CALENDAR_FILES[method],
            params={"method": method, "charset": "utf-8"},
        )
