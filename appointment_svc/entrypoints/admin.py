"""Staff RPCs. Every one is authorised here (role ADMIN), whatever the gateway did."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit

from appointment_svc.domain.errors import FieldViolation
from appointment_svc.domain.model import BookingStatus, Category, Consultant
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.postcodes import clean_service_areas
from appointment_svc.domain.schedule import WeeklyPattern
from appointment_svc.domain.staff import (
    MAX_GENERATION_DAYS,
    AppointmentTableQuery,
    CalendarSlot,
    GenerateSlots,
    NewConsultant,
    NewSlot,
    SlotCalendarQuery,
    TableSort,
)
from appointment_svc.domain.validation import EMAIL_MAX, NAME_MAX, has_control_characters, raise_if_invalid
from appointment_svc.entrypoints import convert
from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.convert import status_change_message
from appointment_svc.entrypoints.errors import rpc
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.personal_data import PersonalDataService
from booking.v1 import admin_service_pb2 as pb
from booking.v1 import admin_service_pb2_grpc as pb_grpc
from booking.v1 import resources_pb2 as res

REFERENCE_CODE = re.compile(r"^BK-\d{8}-\d{4}$")
WALL_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
URL_MAX = 2048
MAX_SLOT_LENGTH = timedelta(hours=24)
MINUTES_A_DAY = 24 * 60
KNOWN_CATEGORIES = {res.KITCHEN, res.BEDROOM}


# -- requests → commands (all shape checks happen here; handlers never see invalid input)


def table_query(request: pb.ListAppointmentsRequest) -> AppointmentTableQuery:
    violations: list[FieldViolation] = []
    page, limit = convert.page_and_limit(request, violations)
    sort = request.sort or TableSort.CREATED_DESC.value
    if sort not in {s.value for s in TableSort}:
        violations.append(FieldViolation("sort", "must be one of " + ", ".join(s.value for s in TableSort)))
    status = None
    if request.status != res.BOOKING_STATUS_UNSPECIFIED:
        if request.status in res.BookingStatus.values():
            status = BookingStatus(res.BookingStatus.Name(request.status))
        else:
            violations.append(FieldViolation("status", "must be one of " + ", ".join(s.value for s in BookingStatus)))
    first = convert.calendar_date(request.from_date, "from", violations) if request.from_date else None
    last = convert.calendar_date(request.to_date, "to", violations) if request.to_date else None
    if first and last and last < first:
        violations.append(FieldViolation("to", "must not be before from"))
    reference = request.reference_code.strip().upper() or None
    if reference and not REFERENCE_CODE.match(reference):
        violations.append(FieldViolation("referenceCode", "must look like BK-YYYYMMDD-NNNN"))
    email = request.email.strip().lower() or None
    if email and len(email) > EMAIL_MAX:
        violations.append(FieldViolation("email", f"must be at most {EMAIL_MAX} characters"))
    raise_if_invalid(violations)
    return AppointmentTableQuery(
        page=page, limit=limit, sort=TableSort(sort), status=status, first_day=first, last_day=last,
        reference_code=reference, email=email,
    )  # fmt: skip


def is_web_url(value: str) -> bool:
    if len(value) > URL_MAX or any(c.isspace() or not c.isprintable() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def new_consultant(request: pb.CreateConsultantRequest) -> NewConsultant:
    violations: list[FieldViolation] = []
    name = request.name.strip()
    if not name:
        violations.append(FieldViolation("name", "is required"))
    elif len(name) > NAME_MAX or has_control_characters(name):
        violations.append(FieldViolation("name", f"must be at most {NAME_MAX} printable characters"))
    avatar = request.avatar_url.strip()
    if not avatar:
        violations.append(FieldViolation("avatarUrl", "is required"))
    elif not is_web_url(avatar):
        violations.append(FieldViolation("avatarUrl", "must be an absolute http(s) URL"))
    if not request.categories:
        violations.append(FieldViolation("categories", "choose at least one of KITCHEN, BEDROOM"))
    elif not set(request.categories) <= KNOWN_CATEGORIES:
        violations.append(FieldViolation("categories", "each must be KITCHEN or BEDROOM"))
    areas = clean_service_areas(request.postcode_areas, "postcodeAreas", violations)
    raise_if_invalid(violations)
    categories = tuple(dict.fromkeys(Category(res.Category.Name(c)) for c in request.categories))
    return NewConsultant(name=name, avatar_url=avatar, categories=categories, postcode_areas=areas)


def consultant_areas(request: pb.SetConsultantAreasRequest):
    violations: list[FieldViolation] = []
    consultant_id = convert.uuid_field(request.consultant_id, "consultantId", violations)
    areas = clean_service_areas(request.postcode_areas, "postcodeAreas", violations)
    raise_if_invalid(violations)
    return consultant_id, areas


def instant(message, present: bool, field: str, violations: list[FieldViolation]) -> datetime | None:
    if not present:
        violations.append(FieldViolation(field, "is required (RFC 3339 timestamp)"))
        return None
    try:
        return message.ToDatetime(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        violations.append(FieldViolation(field, "is out of range"))
        return None


def new_slot(request: pb.CreateSlotRequest) -> NewSlot:
    violations: list[FieldViolation] = []
    consultant_id = convert.uuid_field(request.consultant_id, "consultantId", violations)
    kind = convert.appointment_type(request.type, "type", violations)
    starts_at = instant(request.starts_at, request.HasField("starts_at"), "startsAt", violations)
    ends_at = instant(request.ends_at, request.HasField("ends_at"), "endsAt", violations)
    if starts_at and ends_at:
        if ends_at <= starts_at:
            violations.append(FieldViolation("endsAt", "must be after startsAt"))
        elif ends_at - starts_at > MAX_SLOT_LENGTH:
            violations.append(FieldViolation("endsAt", "must be at most 24 hours after startsAt"))
    raise_if_invalid(violations)
    return NewSlot(consultant_id=consultant_id, type=kind, starts_at=starts_at, ends_at=ends_at)


def wall_clock(value: str, field: str, violations: list[FieldViolation]) -> time | None:
    match = WALL_CLOCK.match(value)
    if not match:
        violations.append(FieldViolation(field, "must be a London wall-clock time HH:MM" if value else "is required (HH:MM)"))
        return None
    return time(int(match.group(1)), int(match.group(2)))


def slot_generation(request: pb.GenerateSlotsRequest) -> GenerateSlots:
    violations: list[FieldViolation] = []
    consultant_id = convert.uuid_field(request.consultant_id, "consultantId", violations)
    kind = convert.appointment_type(request.type, "type", violations)
    first = convert.calendar_date(request.from_date, "fromDate", violations)
    last = convert.calendar_date(request.to_date, "toDate", violations)
    if first and last:
        if last < first:
            violations.append(FieldViolation("toDate", "must not be before fromDate"))
        elif (last - first).days > MAX_GENERATION_DAYS:
            violations.append(FieldViolation("toDate", f"must be at most {MAX_GENERATION_DAYS} days after fromDate"))
    if not request.weekdays:
        violations.append(FieldViolation("weekdays", "choose at least one day, 1 = Monday ... 7 = Sunday"))
    elif not all(1 <= d <= 7 for d in request.weekdays):
        violations.append(FieldViolation("weekdays", "each must be 1 (Monday) to 7 (Sunday)"))
    day_start = wall_clock(request.day_start, "dayStart", violations)
    day_end = wall_clock(request.day_end, "dayEnd", violations)
    if day_start and day_end and day_end <= day_start:
        violations.append(FieldViolation("dayEnd", "must be after dayStart"))
    if not 1 <= request.slot_minutes <= MINUTES_A_DAY:
        violations.append(FieldViolation("slotMinutes", f"must be between 1 and {MINUTES_A_DAY}"))
    elif day_start and day_end and day_end > day_start and request.slot_minutes > _minutes_between(day_start, day_end):
        violations.append(FieldViolation("slotMinutes", "is longer than the working day"))
    if not 0 <= request.buffer_minutes <= MINUTES_A_DAY:
        violations.append(FieldViolation("bufferMinutes", f"must be between 0 and {MINUTES_A_DAY}"))
    skip: set[date] = set()
    for value in request.skip_dates:
        day = convert.calendar_date(value, "skipDates", violations)
        if day:
            skip.add(day)
    raise_if_invalid(violations)
    pattern = WeeklyPattern(
        weekdays=frozenset(request.weekdays),
        day_start=day_start,
        day_end=day_end,
        slot_minutes=request.slot_minutes,
        buffer_minutes=request.buffer_minutes,
        skip_dates=frozenset(skip),
    )
    return GenerateSlots(consultant_id=consultant_id, type=kind, first_day=first, last_day=last, pattern=pattern)


def _minutes_between(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def slot_calendar_query(request: pb.ListSlotsRequest) -> SlotCalendarQuery:
    violations: list[FieldViolation] = []
    day = convert.calendar_date(request.date, "date", violations)
    consultant_id = convert.uuid_field(request.consultant_id, "consultantId", violations) if request.consultant_id else None
    kind = None
    if request.type != res.APPOINTMENT_TYPE_UNSPECIFIED:
        kind = convert.appointment_type(request.type, "type", violations)
    raise_if_invalid(violations)
    return SlotCalendarQuery(day=day, consultant_id=consultant_id, type=kind)


def slot_id(value: str):
    violations: list[FieldViolation] = []
    parsed = convert.uuid_field(value, "slotId", violations)
    raise_if_invalid(violations)
    return parsed


# -- domain → messages


def consultant_message(consultant: Consultant) -> res.Consultant:
    return res.Consultant(
        consultant_id=str(consultant.id),
        name=consultant.name,
        avatar_url=consultant.avatar_url,
        categories=[res.Category.Value(c.value) for c in consultant.categories],
        postcode_areas=consultant.postcode_areas,
    )


def calendar_slot_message(entry: CalendarSlot) -> pb.CalendarSlot:
    slot = entry.slot
    return pb.CalendarSlot(
        slot_id=str(slot.id),
        starts_at=convert.timestamp(slot.starts_at),
        ends_at=convert.timestamp(slot.ends_at),
        type=res.AppointmentType.Value(slot.type.value),
        consultant=consultant_message(slot.consultant),
        state=pb.SlotState.Value(entry.state.value),
        reference_code=entry.reference_code or "",
    )


class AdminServicer(pb_grpc.AdminServiceServicer):
    def __init__(
        self, admin: AdminService, auth: Authenticator, personal_data: PersonalDataService | None = None, *, notice: ChangeNotice
    ):
        self._admin = admin
        self._notice = notice
        self._auth = auth
        self._personal_data = personal_data

    @rpc
    async def ListAppointments(self, request: pb.ListAppointmentsRequest, context) -> pb.ListAppointmentsResponse:
        self._auth.admin(context)
        query = table_query(request)
        found, total = await self._admin.appointment_table(query)
        return pb.ListAppointmentsResponse(
            data=[convert.appointment_message(b, self._notice) for b in found],
            total=total,
            page=query.page,
            total_pages=query.total_pages(total),
        )

    @rpc
    async def GetAppointmentDetails(self, request: pb.GetAppointmentDetailsRequest, context) -> pb.GetAppointmentDetailsResponse:
        self._auth.admin(context)
        booking, history = await self._admin.details(convert.booking_id(request.booking_id))
        return pb.GetAppointmentDetailsResponse(
            appointment=convert.appointment_message(booking, self._notice), history=[status_change_message(c) for c in history]
        )

    @rpc
    async def ConfirmAppointment(self, request: pb.ConfirmAppointmentRequest, context) -> pb.ConfirmAppointmentResponse:
        admin = self._auth.admin(context)
        booking = await self._admin.confirm(convert.booking_id(request.booking_id), admin)
        return pb.ConfirmAppointmentResponse(appointment=convert.appointment_message(booking, self._notice))

    @rpc
    async def CompleteAppointment(self, request: pb.CompleteAppointmentRequest, context) -> pb.CompleteAppointmentResponse:
        admin = self._auth.admin(context)
        booking = await self._admin.complete(convert.booking_id(request.booking_id), admin)
        return pb.CompleteAppointmentResponse(appointment=convert.appointment_message(booking, self._notice))

    @rpc
    async def MarkNoShow(self, request: pb.MarkNoShowRequest, context) -> pb.MarkNoShowResponse:
        admin = self._auth.admin(context)
        booking = await self._admin.mark_no_show(convert.booking_id(request.booking_id), admin)
        return pb.MarkNoShowResponse(appointment=convert.appointment_message(booking, self._notice))

    @rpc
    async def CancelAppointmentOnBehalf(
        self, request: pb.CancelAppointmentOnBehalfRequest, context
    ) -> pb.CancelAppointmentOnBehalfResponse:
        admin = self._auth.admin(context)
        violations: list[FieldViolation] = []
        booking_id = convert.uuid_field(request.booking_id, "bookingId", violations)
        reason = convert.cancel_reason(request.reason, violations, required=True)
        raise_if_invalid(violations)
        booking = await self._admin.cancel_on_behalf(booking_id, admin, reason)
        return pb.CancelAppointmentOnBehalfResponse(appointment=convert.appointment_message(booking, self._notice))

    @rpc
    async def CreateConsultant(self, request: pb.CreateConsultantRequest, context) -> pb.CreateConsultantResponse:
        self._auth.admin(context)
        consultant_id = await self._admin.create_consultant(new_consultant(request))
        return pb.CreateConsultantResponse(consultant_id=str(consultant_id))

    @rpc
    async def ListConsultants(self, request: pb.ListConsultantsRequest, context) -> pb.ListConsultantsResponse:
        self._auth.admin(context)
        return pb.ListConsultantsResponse(consultants=[consultant_message(c) for c in await self._admin.consultants()])

    @rpc
    async def SetConsultantAreas(self, request: pb.SetConsultantAreasRequest, context) -> pb.SetConsultantAreasResponse:
        self._auth.admin(context)
        consultant = await self._admin.set_consultant_areas(*consultant_areas(request))
        return pb.SetConsultantAreasResponse(consultant=consultant_message(consultant))

    @rpc
    async def CreateSlot(self, request: pb.CreateSlotRequest, context) -> pb.CreateSlotResponse:
        self._auth.admin(context)
        created = await self._admin.create_slot(new_slot(request))
        return pb.CreateSlotResponse(slot_id=str(created))

    @rpc
    async def GenerateSlots(self, request: pb.GenerateSlotsRequest, context) -> pb.GenerateSlotsResponse:
        self._auth.admin(context)
        created, skipped = await self._admin.generate_slots(slot_generation(request))
        return pb.GenerateSlotsResponse(created=created, skipped=skipped)

    @rpc
    async def BlockSlot(self, request: pb.BlockSlotRequest, context) -> pb.BlockSlotResponse:
        self._auth.admin(context)
        blocked = slot_id(request.slot_id)
        await self._admin.block_slot(blocked)
        return pb.BlockSlotResponse(slot_id=str(blocked), blocked=True)

    @rpc
    async def UnblockSlot(self, request: pb.UnblockSlotRequest, context) -> pb.UnblockSlotResponse:
        self._auth.admin(context)
        unblocked = slot_id(request.slot_id)
        await self._admin.unblock_slot(unblocked)
        return pb.UnblockSlotResponse(slot_id=str(unblocked), blocked=False)

    @rpc
    async def ListSlots(self, request: pb.ListSlotsRequest, context) -> pb.ListSlotsResponse:
        self._auth.admin(context)
        found = await self._admin.slot_calendar(slot_calendar_query(request))
        return pb.ListSlotsResponse(slots=[calendar_slot_message(entry) for entry in found])

    @rpc
    async def ErasePersonalData(self, request: pb.ErasePersonalDataRequest, context) -> pb.ErasePersonalDataResponse:
        principal = self._auth.admin(context)
        summary = await self._personal_data.erase_address(principal, request.email)
        return pb.ErasePersonalDataResponse(erased=convert.erasure_summary(summary))
