"""Transport edge: proto requests → validated domain values, domain results → proto messages."""
from __future__ import annotations

from datetime import date

from google.protobuf.timestamp_pb2 import Timestamp

from appointment_svc.domain.errors import FieldViolation, ValidationFailed
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category, Slot
from booking.v1 import appointment_service_pb2 as pb
from booking.v1 import resources_pb2 as res


def timestamp(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


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


def calendar_date(value: str, field: str, violations: list[FieldViolation]) -> date | None:
    if not value:
        violations.append(FieldViolation(field, "is required (YYYY-MM-DD)"))
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        violations.append(FieldViolation(field, "must be a calendar date in the form YYYY-MM-DD"))
        return None


def raise_if_invalid(violations: list[FieldViolation]) -> None:
    if violations:
        names = ", ".join(dict.fromkeys(v.field for v in violations))
        raise ValidationFailed(violations, f"Please check these fields: {names}.")


def availability_query(request: pb.ListAvailableSlotsRequest) -> AvailabilityQuery:
    violations: list[FieldViolation] = []
    kind = appointment_type(request.type, "type", violations)
    day = calendar_date(request.date, "date", violations)
    category = optional_category(request.category, "category", violations)
    raise_if_invalid(violations)
    return AvailabilityQuery(type=kind, day=day, category=category)


def slot_message(slot: Slot) -> res.Slot:
    return res.Slot(
        slot_id=str(slot.id),
        starts_at=timestamp(slot.starts_at),
        ends_at=timestamp(slot.ends_at),
        consultant=res.ConsultantSummary(name=slot.consultant.name, avatar_url=slot.consultant.avatar_url),
    )
