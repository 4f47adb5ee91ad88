"""In-memory adapters for the service layer's ports: the unit tests assert on what they hold.

FakeDatabase is what is durable; a FakeUnitOfWork works on a copy of it and only commit() puts
the copy back, so a refused use case leaves the database exactly as it was.
"""
from __future__ import annotations

import copy
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

from appointment_svc.domain import staff
from appointment_svc.domain.brochures import BrochureRequest
from appointment_svc.domain.errors import ConsultantNotFound, SlotOverlap
from appointment_svc.domain.events import BookingEvent
from appointment_svc.domain.holds import SlotHold
from appointment_svc.domain.model import (
    ACTIVE_STATUSES,
    AppointmentType,
    AvailabilityQuery,
    Booking,
    BookSlot,
    Category,
    Consultant,
    Slot,
    london_day_bounds,
)
from appointment_svc.domain.validation import Contact, canonical_email
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.ports import DuplicateRequest, EncodedGrid, LockUnavailable, SlotTaken
from appointment_svc.service_layer.repositories import (
    BookingRepository,
    BrochureRepository,
    ConsultantRepository,
    HoldRepository,
    SlotRepository,
)
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.principal import Principal, Role


@dataclass
class Tables:
    bookings: dict[UUID, Booking] = field(default_factory=dict)
    fingerprints: dict[UUID, str | None] = field(default_factory=dict)
    slots: dict[UUID, Slot] = field(default_factory=dict)
    consultants: dict[UUID, Consultant] = field(default_factory=dict)
    history: list[tuple[UUID, staff.StatusChange]] = field(default_factory=list)
    outbox: list[object] = field(default_factory=list)
    emails: list[tuple[str, UUID, str, datetime]] = field(default_factory=list)
    brochures: dict[UUID, BrochureRequest] = field(default_factory=dict)
    brochure_times: list[tuple[str, datetime]] = field(default_factory=list)
    reference_numbers: dict[date, int] = field(default_factory=dict)
    holds: dict[UUID, SlotHold] = field(default_factory=dict)


class FakeDatabase:
    def __init__(self) -> None:
        self.tables = Tables()
        self.locked_rows: set[UUID] = set()  # slot rows another (imaginary) transaction holds
        self.locks_taken: list[str] = []  # advisory locks, in the order transactions took them
        self.transactions = 0
        self.commits = 0

    # -- what tests put in and read back

    def add_slot(self, slot: Slot) -> Slot:
        self.tables.consultants.setdefault(slot.consultant.id, slot.consultant)
        self.tables.slots[slot.id] = slot
        return slot

    def booking(self, booking_id: UUID) -> Booking:
        return self.tables.bookings[booking_id]

    def history_of(self, booking_id: UUID) -> list[staff.StatusChange]:
        return [change for owner, change in self.tables.history if owner == booking_id]

    def outbox_kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.tables.outbox]

    def active_bookings_of(self, slot_id: UUID) -> list[Booking]:
        return [b for b in self.tables.bookings.values() if b.slot.id == slot_id and b.status in ACTIVE_STATUSES]


def _stored(booking: Booking) -> Booking:
    return dataclasses.replace(booking, events=[])


class FakeBookingRepository(BookingRepository):
    def __init__(self, db: FakeDatabase, tables: Tables):
        super().__init__()
        self._db, self._t = db, tables

    async def _add(self, booking: Booking, fingerprint: str | None) -> None:
        # The two unique indexes of the bookings table.
        if booking.request_id and any(
            b.user_id == booking.user_id and b.request_id == booking.request_id for b in self._t.bookings.values()
        ):
            raise DuplicateRequest()
        if any(b.slot.id == booking.slot.id and b.status in ACTIVE_STATUSES for b in self._t.bookings.values()):
            raise SlotTaken()
        self._t.bookings[booking.id] = _stored(booking)
        self._t.fingerprints[booking.id] = fingerprint

    async def _get(self, booking_id: UUID, *, lock: bool) -> Booking | None:
        if lock:
            self._db.locks_taken.append(f"booking:{booking_id}")
        found = self._t.bookings.get(booking_id)
        return None if found is None else self._loaded(found)

    def _loaded(self, booking: Booking) -> Booking:
        # Bookings are read with their slot's current state, as the SQL join does.
        return dataclasses.replace(booking, slot=self._t.slots.get(booking.slot.id, booking.slot), events=[])

    async def for_request(self, user_id: str, request_id: str) -> tuple[Booking, str] | None:
        for booking in self._t.bookings.values():
            if booking.user_id == user_id and booking.request_id == request_id:
                return self._loaded(booking), self._t.fingerprints[booking.id]
        return None

    async def save(self, booking: Booking, now: datetime) -> None:
        stored = self._t.bookings[booking.id]
        moved = booking.slot.id != stored.slot.id
        if moved and booking.status in ACTIVE_STATUSES and any(
            b.slot.id == booking.slot.id and b.status in ACTIVE_STATUSES for b in self._t.bookings.values()
        ):
            raise SlotTaken()  # the partial unique index, as in _add
        self._t.bookings[booking.id] = dataclasses.replace(
            stored, status=booking.status, cancelled_at=booking.cancelled_at, cancel_reason=booking.cancel_reason,
            slot=booking.slot, reschedule_count=booking.reschedule_count,
            # As in SQL: only a move writes the reminder's due time.
            reminder_due_at=booking.reminder_due_at if moved else stored.reminder_due_at,
        )

    async def add_history(self, event: BookingEvent) -> None:
        change = staff.StatusChange(event.from_status, event.to_status, event.by, event.at, event.reason, event.history_kind)
        self._t.history.append((event.booking.id, change))

    async def history(self, booking_id: UUID) -> list[staff.StatusChange]:
        return [change for owner, change in self._t.history if owner == booking_id]

    async def _claim_due_reminders(self, now: datetime, limit: int) -> list[Booking]:
        due = sorted((b for b in self._t.bookings.values() if b.reminder_is_due(now)), key=lambda b: b.reminder_due_at)
        return [self._loaded(b) for b in due[:limit]]

    async def save_reminded(self, claimed: list[Booking], sent: list[Booking], at: datetime) -> None:
        for booking in claimed:
            self._t.bookings[booking.id] = dataclasses.replace(self._t.bookings[booking.id], reminder_due_at=None)
    async def _store_event_sequence(self, booking: Booking) -> None:
        self._t.bookings[booking.id] = dataclasses.replace(self._t.bookings[booking.id], event_sequence=booking.event_sequence)

    async def list_for_user(self, user_id: str, offset: int, limit: int) -> tuple[list[Booking], int]:
        mine = sorted((b for b in self._t.bookings.values() if b.user_id == user_id), key=lambda b: b.created_at, reverse=True)
        return [self._loaded(b) for b in mine[offset : offset + limit]], len(mine)

    async def table(self, query: staff.AppointmentTableQuery) -> tuple[list[Booking], int]:
        found = [b for b in self._t.bookings.values() if query.status is None or b.status is query.status]
        key = (lambda b: b.slot.starts_at) if query.sort.by_start else (lambda b: b.created_at)
        found.sort(key=lambda b: (key(b), b.id), reverse=query.sort.descending)
        return [self._loaded(b) for b in found[query.offset : query.offset + query.limit]], len(found)

    async def next_reference_number(self, day: date) -> int:
        self._t.reference_numbers[day] = self._t.reference_numbers.get(day, 0) + 1
        return self._t.reference_numbers[day]

    async def serialise_customer(self, user_id: str) -> None:
        self._db.locks_taken.append(f"customer:{user_id}")

    async def upcoming_active(self, user_id: str, now: datetime) -> int:
        return sum(
            b.user_id == user_id and b.status in ACTIVE_STATUSES and b.slot.starts_at > now for b in self._t.bookings.values()
        )

    async def active_to(self, recipient: str) -> int:
        return sum(
            canonical_email(b.contact.email) == recipient and b.status in ACTIVE_STATUSES for b in self._t.bookings.values()
        )


class FakeSlotRepository(SlotRepository):
    def __init__(self, db: FakeDatabase, tables: Tables):
        super().__init__()
        self._db, self._t = db, tables

    async def get(self, slot_id: UUID, *, lock: bool = False) -> Slot | None:
        return self._t.slots.get(slot_id)

    async def free_and_unlocked(self, slot_id: UUID) -> bool:
        slot = self._t.slots.get(slot_id)
        return slot is not None and not (slot.is_booked or slot.is_blocked or slot_id in self._db.locked_rows)

    async def mark_booked(self, slot_id: UUID) -> bool:
        slot = self._t.slots[slot_id]
        if slot.is_booked or slot.is_blocked:
            return False
        self._t.slots[slot_id] = dataclasses.replace(slot, is_booked=True)
        return True

    async def free(self, slot_id: UUID) -> None:
        self._t.slots[slot_id] = dataclasses.replace(self._t.slots[slot_id], is_booked=False)

    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        start, end = london_day_bounds(query.day)
        held = {h.slot_id: h.expires_at for h in self._t.holds.values() if h.is_live(now)}
        return [
            dataclasses.replace(s, held_until=held.get(s.id))
            for s in self._t.slots.values()
            if s.type is query.type and max(start, now) <= s.starts_at < end and not (s.is_booked or s.is_blocked)
        ]

    async def calendar(self, query: staff.SlotCalendarQuery) -> list[staff.CalendarSlot]:
        start, end = london_day_bounds(query.day)
        day = sorted((s for s in self._t.slots.values() if start <= s.starts_at < end), key=lambda s: s.starts_at)
        holders = {b.slot.id: b.reference_code for b in self._t.bookings.values() if b.status in ACTIVE_STATUSES}
        return [staff.CalendarSlot(s, holders.get(s.id) if s.is_booked else None) for s in day]

    def _overlaps(self, consultant_id: UUID, starts_at: datetime, ends_at: datetime) -> bool:
        return any(
            s.consultant.id == consultant_id and s.starts_at < ends_at and starts_at < s.ends_at for s in self._t.slots.values()
        )

    def _insert(self, consultant_id: UUID, kind, starts_at: datetime, ends_at: datetime) -> UUID:
        slot = Slot(uuid.uuid4(), self._t.consultants[consultant_id], kind, starts_at, ends_at)
        self._t.slots[slot.id] = slot
        return slot.id

    async def _add(self, slot: staff.NewSlot) -> UUID:
        if slot.consultant_id not in self._t.consultants:
            raise ConsultantNotFound()
        if self._overlaps(slot.consultant_id, slot.starts_at, slot.ends_at):
            raise SlotOverlap()
        return self._insert(slot.consultant_id, slot.type, slot.starts_at, slot.ends_at)

    async def _add_generated(self, command: staff.GenerateSlots, times: list[tuple[datetime, datetime]]) -> list[datetime]:
        created = []
        for starts_at, ends_at in times:
            if not self._overlaps(command.consultant_id, starts_at, ends_at):
                self._insert(command.consultant_id, command.type, starts_at, ends_at)
                created.append(starts_at)
        return created

    async def _set_blocked(self, slot_id: UUID, blocked: bool) -> None:
        self._t.slots[slot_id] = dataclasses.replace(self._t.slots[slot_id], is_blocked=blocked)


class FakeHoldRepository(HoldRepository):
    """The slot_holds table: its two unique constraints, one row per slot and one per customer."""

    def __init__(self, db: FakeDatabase, tables: Tables):
        super().__init__()
        self._db, self._t = db, tables

    async def _add(self, hold: SlotHold) -> None:
        if any(h.slot_id == hold.slot_id for h in self._t.holds.values()):
            raise SlotTaken()
        assert not any(h.user_id == hold.user_id for h in self._t.holds.values()), "slot_holds_user_id_key"
        self._t.holds[hold.id] = hold

    async def _remove(self, hold_id: UUID) -> None:
        self._t.holds.pop(hold_id, None)

    async def get(self, hold_id: UUID, *, lock: bool = False) -> SlotHold | None:
        return self._t.holds.get(hold_id)

    async def for_slot(self, slot_id: UUID) -> SlotHold | None:
        return next((h for h in self._t.holds.values() if h.slot_id == slot_id), None)

    async def of_customer(self, user_id: str) -> SlotHold | None:
        return next((h for h in self._t.holds.values() if h.user_id == user_id), None)

    async def take_for_booking(self, slot_id: UUID) -> SlotHold | None:
        hold = await self.for_slot(slot_id)
        if hold is not None:
            del self._t.holds[hold.id]
        return hold


class FakeConsultantRepository(ConsultantRepository):
    def __init__(self, tables: Tables):
        super().__init__()
        self._t = tables

    async def add(self, consultant: staff.NewConsultant) -> UUID:
        added = Consultant(uuid.uuid4(), consultant.name, consultant.avatar_url, consultant.categories, consultant.postcode_areas)
        self._t.consultants[added.id] = added
        return added.id

    async def list(self) -> list[Consultant]:
        return sorted(self._t.consultants.values(), key=lambda c: (c.name, str(c.id)))

    async def lock(self, consultant_id: UUID) -> bool:
        return consultant_id in self._t.consultants

    async def _set_areas(self, consultant_id: UUID, areas: tuple[str, ...]) -> Consultant | None:
        if consultant_id not in self._t.consultants:
            return None
        changed = dataclasses.replace(self._t.consultants[consultant_id], postcode_areas=areas)
        self._t.consultants[consultant_id] = changed
        for slot_id, slot in list(self._t.slots.items()):
            if slot.consultant.id == consultant_id:
                self._t.slots[slot_id] = dataclasses.replace(slot, consultant=changed)
        return changed

    async def _open_home_visit_starts(self, consultant_id: UUID, after: datetime) -> list[datetime]:
        return [
            s.starts_at for s in self._t.slots.values()
            if s.consultant.id == consultant_id and s.type is AppointmentType.HOME_MEASUREMENT and s.starts_at > after
            and not s.is_booked and not s.is_blocked
        ]  # fmt: skip


class FakeBrochureRepository(BrochureRepository):
    def __init__(self, db: FakeDatabase, tables: Tables, clock):
        super().__init__()
        self._db, self._t, self._clock = db, tables, clock

    async def _add(self, request: BrochureRequest) -> None:
        self._t.brochures[request.id] = dataclasses.replace(request, events=[])
        self._t.brochure_times.append((canonical_email(request.contact.email), request.requested_at))

    async def serialise(self, recipient: str) -> None:
        self._db.locks_taken.append(f"brochure:{recipient}")

    async def seconds_until_room(self, recipient: str, limit: int, window_seconds: int) -> float | None:
        now = self._clock()
        recent = sorted((t for who, t in self._t.brochure_times if who == recipient and (now - t).total_seconds() < window_seconds),
                        reverse=True)  # fmt: skip
        if len(recent) < limit:
            return None
        return window_seconds - (now - recent[limit - 1]).total_seconds()


class FakeEmailLedger:
    def __init__(self, db: FakeDatabase, tables: Tables):
        self._db, self._t = db, tables

    async def serialise(self, recipient: str) -> None:
        self._db.locks_taken.append(f"recipient:{recipient}")

    async def sent_since(self, recipient: str, since: datetime) -> list[datetime]:
        return [at for who, _, _, at in self._t.emails if who == recipient and at > since]

    async def record(self, recipient: str, booking_id: UUID, kind: str, at: datetime, *, forget_before: datetime) -> None:
        self._t.emails = [e for e in self._t.emails if not (e[0] == recipient and e[3] < forget_before)]
        self._t.emails.append((recipient, booking_id, kind, at))


class FakeOutbox:
    def __init__(self, tables: Tables):
        self._t = tables

    async def add(self, event) -> None:
        self._t.outbox.append(event)


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, db: FakeDatabase, bus: MessageBus | None = None, clock=None):
        super().__init__(bus)
        self._db = db
        self._clock = clock
        self._work: Tables | None = None

    async def _begin(self) -> None:
        self._db.transactions += 1
        self._work = copy.deepcopy(self._db.tables)
        self.bookings = FakeBookingRepository(self._db, self._work)
        self.slots = FakeSlotRepository(self._db, self._work)
        self.consultants = FakeConsultantRepository(self._work)
        self.holds = FakeHoldRepository(self._db, self._work)
        self.brochures = FakeBrochureRepository(self._db, self._work, self._clock)
        self.emails = FakeEmailLedger(self._db, self._work)
        self.outbox = FakeOutbox(self._work)

    async def _commit(self) -> None:
        self._db.tables = self._work
        self._db.commits += 1

    async def _end(self) -> None:
        self._work = None


class FakeSlotReader:
    """Reads as the fake repositories do; each read counts as one of the database's transactions."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        async with FakeUnitOfWork(self._db) as uow:
            return await uow.slots.open_on(query, now)


class FakeCache:
    """An availability cache that remembers what it was told to forget."""

    def __init__(self) -> None:
        self.entries: dict[AvailabilityQuery, EncodedGrid] = {}
        self.ttls: dict[AvailabilityQuery, float | None] = {}
        self.invalidated: list[date] = []

    async def get(self, query: AvailabilityQuery) -> EncodedGrid | None:
        return self.entries.get(query)

    async def put(self, query: AvailabilityQuery, grid: EncodedGrid, ttl_seconds: float | None = None) -> None:
        self.entries[query] = grid
        self.ttls[query] = ttl_seconds

    async def invalidate_day(self, day: date) -> None:
        self.invalidated.append(day)
        self.entries = {q: s for q, s in self.entries.items() if q.day != day}


class FakeSlotLock:
    """A slot lock: free, held by someone (as Redis keeps a SIGKILLed holder's lease), or down."""

    def __init__(self) -> None:
        self.leases: dict[UUID, str | bytes] = {}
        self.booked: set[UUID] = set()  # "just booked" marks (they do not expire here)
        self.down = False
        self.attempts = 0

    async def acquire(self, slot_id: UUID) -> str | None:
        self.attempts += 1
        if self.down:
            raise LockUnavailable("down")
        if slot_id in self.leases:
            return None
        self.leases[slot_id] = token = uuid.uuid4().hex
        return token

    async def holder(self, slot_id: UUID) -> str | bytes | None:
        if self.down:
            raise LockUnavailable("down")
        return self.leases.get(slot_id)

    async def release(self, slot_id: UUID, token: str | bytes, *, booked: bool = False) -> None:
        if self.down:
            return
        if booked:
            self.booked.add(slot_id)
        if self.leases.get(slot_id) == token:
            del self.leases[slot_id]

    async def just_booked(self, slot_id: UUID) -> bool:
        return not self.down and slot_id in self.booked

    async def forget_booked(self, slot_id: UUID) -> None:
        if not self.down:
            self.booked.discard(slot_id)


# -- builders for the tests' worlds

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
# Who calls the use cases in the tests: two customers and a member of staff.
ALICE = Principal("u1", Role.CUSTOMER)
BOB = Principal("u2", Role.CUSTOMER)
STAFF = Principal("staff-1", Role.ADMIN)  # noon in London (GMT)
BOTH = Consultant(uuid.uuid4(), "Amelia Hart", "https://a.example/a.png", (Category.KITCHEN, Category.BEDROOM))
JANE = Contact("Jane", "Doe", "Jane.Doe+shop@GoogleMail.com", "07700900123", "SW1A 1AA", "1 High St")


def a_slot(db: FakeDatabase, starts_at: datetime = NOW + timedelta(days=2), **overrides) -> Slot:
    values = dict(consultant=BOTH, type=AppointmentType.SHOWROOM_VISIT, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    values.update(overrides)
    return db.add_slot(Slot(uuid.uuid4(), **values))


def a_booking_form(slot: Slot, user: str = "u1", request_id: str | None = None, hold_id: UUID | None = None, **contact) -> BookSlot:
    return BookSlot(user, slot.type, True, False, dataclasses.replace(JANE, **contact), slot.id, request_id, hold_id)
