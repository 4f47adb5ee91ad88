"""Transport edge: proto requests → validated domain values, domain results → proto messages."""
from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from uuid import UUID

from appointment_svc.adapters import proto_mapping
from appointment_svc.adapters.proto_mapping import slot_message, timestamp  # noqa: F401 - re-exported for servicers
from appointment_svc.domain.errors import FieldViolation
from appointment_svc.domain.events import HistoryKind
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Booking, BookingStatus, BookSlot, Category
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.personal_data import ErasureSummary, PersonalDataExport
from appointment_svc.domain.postcodes import is_uk_postcode, normalise_uk_postcode, outward_code
from appointment_svc.domain.staff import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, StatusChange
from appointment_svc.domain.validation import (
    clean_contact,
    has_control_characters,
    normalise_newlines,
    raise_if_invalid,
    validate_contact,
)
from booking.v1 import appointment_service_pb2 as pb
from booking.v1 import personal_data_pb2 as personal
from booking.v1 import resources_pb2 as res


def appointment_type(value: int, field: str, violations: list[FieldViolation]) -> AppointmentType | None:
    if value == res.APPOINTMENT_TYPE_UNSPECIFIED or value not in res.AppointmentType.values():
        violations.append(
            FieldViolation(field, "must be one of HOME_MEASUREMENT, SHOWROOM_VISIT, VIDEO_CONSULTATION")
        )
        return None
    return AppointmentType(res.AppointmentType.Name(value))


def optional_category(value: int, field: str, violations: list[FieldViolation]) -> Category | None:
    if value == res.CATEGORY_UNSPECIFIED:
        return None
    if value not in res.Category.values():
        violations.append(FieldViolation(field, "must be KITCHEN or BEDROOM"))
        return None
    return Category(res.Category.Name(value))


# A diary has no business outside these years, and day arithmetic near date.max would overflow.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def calendar_date(value: str, field: str, violations: list[FieldViolation]) -> date | None:
    if not value:
        violations.append(FieldViolation(field, "is required (YYYY-MM-DD)"))
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        violations.append(FieldViolation(field, "must be a calendar date in the form YYYY-MM-DD"))
        return None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        violations.append(FieldViolation(field, f"must be between {EARLIEST_DAY} and {LATEST_DAY}"))
        return None
    return day


def availability_query(request: pb.ListAvailableSlotsRequest) -> AvailabilityQuery:
    violations: list[FieldViolation] = []
    kind = appointment_type(request.type, "type", violations)
    day = calendar_date(request.date, "date", violations)
    category = optional_category(request.category, "category", violations)
    outward = None
    if request.postcode.strip():
        if not is_uk_postcode(request.postcode):
            violations.append(FieldViolation("postcode", "must be a full UK postcode, e.g. SW1A 1AA"))
        elif kind is AppointmentType.HOME_MEASUREMENT:
            # Only home measurements travel; the others' grids stay one cache entry whatever the postcode.
            outward = outward_code(normalise_uk_postcode(request.postcode))
    raise_if_invalid(violations)
    return AvailabilityQuery(type=kind, day=day, category=category, outward_code=outward)


# Only the 8-4-4-4-12 spelling (either case, as RFC 9562 reads it): UUID() also takes braces,
# "urn:uuid:" and no hyphens, spellings no client of ours sends that make ids ambiguous in URLs.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uuid_field(value: str, field: str, violations: list[FieldViolation]) -> UUID | None:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return UUID(value)
    violations.append(FieldViolation(field, "must be a UUID" if value else "is required"))
    return None


def book_slot_command(request: pb.CreateAppointmentRequest, user_id: str) -> BookSlot:
    violations: list[FieldViolation] = []
    kind = appointment_type(request.type, "type", violations)
    if not (request.for_kitchen or request.for_bedroom):
        violations.append(FieldViolation("forKitchen", "choose kitchen, bedroom or both"))
    violations += validate_contact(
        request.first_name,
        request.last_name,
        request.email,
        request.phone,
        request.postcode,
        request.address,
        address_required=kind is AppointmentType.HOME_MEASUREMENT,
    )
    slot_id = uuid_field(request.slot_id, "slotId", violations)
    hold_id = uuid_field(request.hold_id, "holdId", violations) if request.hold_id else None
    if len(request.request_id) > 128:
        violations.append(FieldViolation("requestId", "must be at most 128 characters"))
    raise_if_invalid(violations)
    return BookSlot(
        user_id=user_id,
        type=kind,
        for_kitchen=request.for_kitchen,
        for_bedroom=request.for_bedroom,
        contact=clean_contact(request.first_name, request.last_name, request.email, request.phone, request.postcode, request.address),
        slot_id=slot_id,
        request_id=request.request_id or None,
        hold_id=hold_id,
    )


def required_uuid(value: str, field: str) -> UUID:
    violations: list[FieldViolation] = []
    parsed = uuid_field(value, field, violations)
    raise_if_invalid(violations)
    return parsed


def booking_id(value: str) -> UUID:
    violations: list[FieldViolation] = []
    parsed = uuid_field(value, "bookingId", violations)
    raise_if_invalid(violations)
    return parsed


def reschedule_target(request: pb.RescheduleAppointmentRequest) -> tuple[UUID, UUID]:
    """(booking id, slot id) of a reschedule; both problems reported at once."""
    violations: list[FieldViolation] = []
    booking = uuid_field(request.booking_id, "bookingId", violations)
    slot = uuid_field(request.slot_id, "slotId", violations)
    raise_if_invalid(violations)
    return booking, slot


def page_and_limit(request, violations: list[FieldViolation]) -> tuple[int, int]:
    """`page`/`limit` of a list request: absent means the default; present must be in range."""
    page = request.page if request.HasField("page") else 1
    limit = request.limit if request.HasField("limit") else DEFAULT_PAGE_SIZE
    if page < 1:
        violations.append(FieldViolation("page", "must be 1 or more"))
    if not 1 <= limit <= MAX_PAGE_SIZE:
        violations.append(FieldViolation("limit", f"must be between 1 and {MAX_PAGE_SIZE}"))
    return page, limit


REASON_MAX = 500


def cancel_reason(value: str, violations: list[FieldViolation], *, required: bool) -> str:
    """The reason as stored and emailed: line breaks allowed (as `\n`), other control characters refused."""
    reason = normalise_newlines(value).strip()
    if required and not reason:
        violations.append(FieldViolation("reason", "is required when staff cancel a booking"))
    elif len(reason) > REASON_MAX:
        violations.append(FieldViolation("reason", f"must be at most {REASON_MAX} characters"))
    elif has_control_characters(reason, allow_newlines=True):
        violations.append(FieldViolation("reason", "must not contain control characters"))
    return reason


def appointment_message(booking: Booking, notice: ChangeNotice) -> res.Appointment:
    """A booking as every API answer shows it: the event payload's fields plus, while it is still
    changeable, changeable_until under this service's notice window."""
    message = proto_mapping.appointment_message(booking)
    until = booking.changeable_until(notice)
    if until is not None:
        message.changeable_until.CopyFrom(timestamp(until))
    return message


HISTORY_KINDS = {
    HistoryKind.STATUS: res.HistoryEntryKind.STATUS_CHANGE,
    HistoryKind.MOVE: res.HistoryEntryKind.MOVE,
    HistoryKind.REMINDER: res.HistoryEntryKind.REMINDER,
}


def status_change_message(change: StatusChange) -> res.StatusChange:
    """Only what applies: no from_status for the creation, a reason only where one was given."""
    message = res.StatusChange(
        to_status=res.BookingStatus.Value(change.to_status.value),
        changed_by=change.changed_by,
        changed_at=timestamp(change.changed_at),
        kind=HISTORY_KINDS[change.kind],
    )
    if change.from_status is not None:
        message.from_status = res.BookingStatus.Value(change.from_status.value)
    if change.to_status is BookingStatus.CANCELLED or change.reason:  # a cancellation, or a move's old and new times
        message.reason = change.reason
    return message


def export_response(export: PersonalDataExport, notice: ChangeNotice) -> pb.ExportMyDataResponse:
    response = pb.ExportMyDataResponse(user_id=export.user_id, exported_at=timestamp(export.exported_at))
    for record in export.bookings:
        entry = response.bookings.add(
            appointment=appointment_message(record.booking, notice), history=[status_change_message(c) for c in record.history]
        )
        if record.anonymised_at is not None:
            entry.anonymised_at.CopyFrom(timestamp(record.anonymised_at))
    response.emails.extend(
        personal.EmailRecord(
            booking_id=str(e.booking_id), reference_code=e.reference_code, kind=e.kind, sent_at=timestamp(e.sent_at)
        )
        for e in export.emails
    )
    response.brochure_requests.extend(
        personal.BrochureRecord(request_id=str(b.id), requested_at=timestamp(b.requested_at), **asdict(b.contact))
        for b in export.brochure_requests
    )
    return response


def erasure_summary(summary: ErasureSummary) -> personal.ErasureSummary:
    return personal.ErasureSummary(**asdict(summary))
