"""Demo data for a fresh database: consultants with avatars and the coming 14 days of slots."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import create_engine, func, select
from sqlalchemy.dialects.postgresql import insert

from appointment_svc.adapters.advisory import SEED_LOCK_KEY
from appointment_svc.adapters.tables import consultants, time_slots
from appointment_svc.domain.model import AppointmentType, Category, london_date
from appointment_svc.domain.schedule import WeeklyPattern, pattern_times
from mesh_common.config import sqlalchemy_url

DEMO_CONSULTANTS = [
    ("Amelia Hart", (Category.KITCHEN,)),
    ("Oliver Grant", (Category.BEDROOM,)),
    ("Priya Shah", (Category.KITCHEN, Category.BEDROOM)),
    ("Tom Fletcher", (Category.KITCHEN, Category.BEDROOM)),
]

# Every day, so a newcomer's first availability query shows slots whatever the weekday.
EVERY_DAY = frozenset(range(1, 8))

# Each type gets its own part of the working day so one consultant's slots never overlap. A
# unit test holds every AppointmentType to a row: the first query finds slots of every type.
DAY_PLAN = {
    AppointmentType.HOME_MEASUREMENT: WeeklyPattern(EVERY_DAY, time(9, 0), time(12, 0), 90),
    AppointmentType.SHOWROOM_VISIT: WeeklyPattern(EVERY_DAY, time(12, 30), time(15, 30), 60),
    AppointmentType.VIDEO_CONSULTATION: WeeklyPattern(EVERY_DAY, time(15, 30), time(18, 0), 30),
}


def avatar_url(name: str) -> str:
    return f"https://api.dicebear.com/9.x/initials/svg?seed={name.replace(' ', '%20')}"


def seed_if_empty(database_url: str, days: int = 14, now: datetime | None = None) -> int:
    """Seed demo data when there are no consultants; returns the number of slots created."""
    now = now or datetime.now(timezone.utc)
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SEED_LOCK_KEY})")
            if connection.execute(select(func.count()).select_from(consultants)).scalar_one():
                return 0
            first = london_date(now)
            last = first + timedelta(days=days - 1)
            rows = []
            for name, categories in DEMO_CONSULTANTS:
                consultant_id = uuid.uuid4()
                connection.execute(
                    consultants.insert().values(
                        id=consultant_id, name=name, avatar_url=avatar_url(name), categories=[c.value for c in categories]
                    )
                )
                for kind, pattern in DAY_PLAN.items():
                    rows += [
                        {"id": uuid.uuid4(), "consultant_id": consultant_id, "type": kind.value, "starts_at": s, "ends_at": e}
                        for s, e in pattern_times(pattern, first, last)
                        if s > now
                    ]
            if rows:
                connection.execute(insert(time_slots).on_conflict_do_nothing(), rows)
            return len(rows)
    finally:
        engine.dispose()
