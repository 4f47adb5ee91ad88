"""Issue 16: what an operator sees on the services' /metrics while the mesh books and emails."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import a_future_day, an_email, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form
from tests.polling import wait_for


def scrape(urls: list[str]) -> dict[tuple[str, tuple], float]:
    """Every sample of every URL, summed over the processes: {(name, sorted labels): value}."""
    samples: dict[tuple[str, tuple], float] = {}
    for url in urls:
        reply = httpx.get(url, timeout=5)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain"), url
        for family in text_string_to_metric_families(reply.text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_booking_a_lost_race_and_the_emails_show_up_in_the_metrics(mesh, http):
    appointment = [service.metrics_url for service in mesh.appointment]
    before = scrape(appointment)
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 11))
    email = an_email()
    created = http.post("/v1/appointments", json=booking_form(slot, email=email), headers=mesh.auth("metrics-winner"))
    assert created.status_code == 201, created.text
    lost = http.post("/v1/appointments", json=booking_form(slot, email=an_email()), headers=mesh.auth("metrics-loser"))
    assert lost.status_code == 409
    after = scrape(appointment)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("booking_rpc_requests_total", method="CreateAppointment", code="OK") >= 1
    assert grew("booking_rpc_requests_total", method="CreateAppointment", code="ABORTED") >= 1
    assert grew("booking_errors_total", code="SLOT_UNAVAILABLE") >= 1
    assert grew("booking_booking_events_total", event="created") >= 1
    assert grew("booking_slot_lock_attempts_total", result="taken") >= 1
    assert grew("booking_rpc_duration_seconds_count", method="CreateAppointment") >= 2

    # The confirmation went out: the notification service counts it, and the relay emptied the outbox.
    wait_for(lambda: mesh.mail_to(email), what="the confirmation")
    notification = scrape([replica.metrics_url for replica in mesh.notification])
    assert value(notification, "booking_emails_sent_total", kind="booking-confirmation") >= 1
    assert value(notification, "booking_events_handled_total", subject="booking.created") >= 1
    assert ("booking_consumer_pending", ()) in notification
    drained = wait_for(lambda: (s := scrape(appointment)) and value(s, "booking_outbox_backlog") == 0 and s, what="an empty outbox")
    assert value(drained, "booking_outbox_published_total") >= 1


def test_availability_reads_count_cache_hits_and_misses(mesh, http):
    appointment = [service.metrics_url for service in mesh.appointment]
    day = a_future_day()
    add_slot(mesh.database_url, add_consultant(mesh.database_url), london(day, 9), kind="VIDEO_CONSULTATION")
    before = scrape(appointment)
    for _ in range(3):  # the first fills the cache, the others read it
        assert http.get("/v1/appointments/availability", params={"type": "VIDEO_CONSULTATION", "date": day.isoformat()}).status_code == 200
    after = scrape(appointment)
    assert value(after, "booking_availability_cache_reads_total", result="hit") - value(before, "booking_availability_cache_reads_total", result="hit") >= 2
    assert value(after, "booking_availability_cache_reads_total", result="miss") - value(before, "booking_availability_cache_reads_total", result="miss") >= 1
