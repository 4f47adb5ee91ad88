from datetime import date, datetime, time, timezone

from appointment_svc.domain.schedule import WeeklyPattern, pattern_times

UTC = timezone.utc


def test_pattern_fills_the_working_day_with_buffers():
    pattern = WeeklyPattern(frozenset({1}), time(9, 0), time(12, 0), slot_minutes=50, buffer_minutes=10)
    times = pattern_times(pattern, date(2026, 1, 5), date(2026, 1, 5))
    assert [s.strftime("%H:%M") for s, _ in times] == ["09:00", "10:00", "11:00"]
    assert all((e - s).seconds == 50 * 60 for s, e in times)


def test_pattern_skips_days_not_worked_and_holidays():
    pattern = WeeklyPattern(frozenset({1, 3}), time(9, 0), time(10, 0), 60, skip_dates=frozenset({date(2026, 1, 7)}))
    times = pattern_times(pattern, date(2026, 1, 5), date(2026, 1, 11))
    assert [s.date() for s, _ in times] == [date(2026, 1, 5)]


def test_nine_oclock_stays_nine_oclock_in_london_across_the_clock_change():
    pattern = WeeklyPattern(frozenset(range(1, 8)), time(9, 0), time(10, 0), 60)
    times = pattern_times(pattern, date(2026, 3, 28), date(2026, 3, 29))
    assert [s for s, _ in times] == [datetime(2026, 3, 28, 9, 0, tzinfo=UTC), datetime(2026, 3, 29, 8, 0, tzinfo=UTC)]
