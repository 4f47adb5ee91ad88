"""Spec sections 2, 5 and 6, asynchronous half: what arrives at the real SMTP server, and when."""
from __future__ import annotations

import uuid

import boto3
import pytest

from tests.e2e.helpers import a_future_day, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form
from tests.polling import wait_for

KITCHEN_TEAM = "kitchen-team@example.co.uk"
BEDROOM_TEAM = "bedroom-team@example.co.uk"



def cancellations(messages) -> list:
    # Long subjects may be folded right after "Subject:"; a mail client unfolds and trims.
    return [m for m in messages if str(m["Subject"]).strip().startswith("Cancelled")]


def with_reference(messages, reference: str) -> list:
    return [m for m in messages if reference in m["Subject"]]


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


@pytest.fixture
def customer() -> str:
    return f"jane.{uuid.uuid4().hex[:8]}@example.com"


def owner(email: str) -> str:
    """The token `sub` of the customer who books for `email`: one per test."""
    return "customer-" + email.split("@")[0]


def book(mesh, http, email, **overrides):
    kind = overrides.get("type", "SHOWROOM_VISIT")
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 10), kind=kind)
    response = http.post("/v1/appointments", json=booking_form(slot, email=email, **overrides), headers=mesh.auth(owner(email)))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_booking_sends_one_confirmation_and_one_alert_per_team_and_a_cancellation(mesh, http, customer):
    booking = book(mesh, http, customer, forKitchen=True, forBedroom=True, type="HOME_MEASUREMENT")
    reference = booking["referenceCode"]

    confirmation = wait_for(lambda: mesh.mail_to(customer), what="the confirmation")[0]
    kitchen = wait_for(lambda: with_reference(mesh.mail_to(KITCHEN_TEAM), reference), what="the kitchen alert")
    wait_for(lambda: with_reference(mesh.mail_to(BEDROOM_TEAM), reference), what="the bedroom alert")
    assert reference in confirmation["Subject"]
    body = confirmation.get_body(preferencelist=("plain",)).get_content()
    assert reference in body and "10 Downing Street" in body and "10:00" in body
    ics = attachments(confirmation)
    invite = next(v for k, v in ics.items() if k.endswith(".ics")).decode()
    assert "METHOD:REQUEST" in invite and f"UID:{booking['bookingId']}@booking-mesh" in invite
    assert customer in kitchen[0].get_body(preferencelist=("plain",)).get_content()

    cancelled = http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={"reason": "moving"}, headers=mesh.auth(owner(customer)))
    assert cancelled.status_code == 200
    cancellation = wait_for(lambda: cancellations(mesh.mail_to(customer)), what="the cancellation")
    cancel_invite = next(v for k, v in attachments(cancellation[0]).items() if k.endswith(".ics")).decode()
    assert "METHOD:CANCEL" in cancel_invite and f"UID:{booking['bookingId']}@booking-mesh" in cancel_invite

    # Each team hears of the cancellation as well (issue 16), after the customer in the same event.
    for team in (KITCHEN_TEAM, BEDROOM_TEAM):
        wait_for(lambda team=team: [m for m in with_reference(mesh.mail_to(team), reference) if "Cancelled" in m["Subject"]],
                 what=f"{team}'s cancellation alert")  # fmt: skip
    # Every email of the booking arrived once, even after the later cancellation event went through.
    assert len(mesh.mail_to(customer)) == 2
    assert len(with_reference(mesh.mail_to(KITCHEN_TEAM), reference)) == 2
    assert len(with_reference(mesh.mail_to(BEDROOM_TEAM), reference)) == 2


def test_a_kitchen_only_booking_alerts_only_the_kitchen_team(mesh, http, customer):
    booking = book(mesh, http, customer, forKitchen=True, forBedroom=False)
    reference = booking["referenceCode"]
    wait_for(lambda: with_reference(mesh.mail_to(KITCHEN_TEAM), reference), what="the kitchen alert")
    # Events of one booking are handled in order: once the later cancellation email is here, a
    # bedroom alert for the booking would have been sent already.
    http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth(owner(customer)))
    wait_for(lambda: cancellations(mesh.mail_to(customer)), what="the cancellation")
    assert with_reference(mesh.mail_to(BEDROOM_TEAM), reference) == []


def unpublished_events(mesh, booking_id: str) -> int:
    import psycopg

    from booking.v1 import events_pb2

    with psycopg.connect(mesh.database_url) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE subject = 'booking.created' AND published_at IS NULL").fetchall()
    return sum(events_pb2.BookingCreated.FromString(r[0]).appointment.booking_id == booking_id for r in rows)


def test_with_nats_stopped_a_booking_succeeds_and_its_emails_arrive_once_nats_is_back(mesh, backing, http, customer):
    backing["nats"].stop()
    try:
        booking = book(mesh, http, customer)
        # The event waits in the outbox, committed with the booking, while NATS is away.
        assert unpublished_events(mesh, booking["bookingId"]) == 1
    finally:
        backing["nats"].start()
    wait_for(lambda: mesh.mail_to(customer), timeout=60, what="the confirmation after NATS came back")
    wait_for(lambda: unpublished_events(mesh, booking["bookingId"]) == 0, what="the outbox to drain")
    http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth(owner(customer)))
    wait_for(lambda: cancellations(mesh.mail_to(customer)), what="the cancellation")
    assert [m["Subject"].split()[0] for m in mesh.mail_to(customer)].count("Booking") == 1


def test_a_brochure_request_emails_the_pdf_from_s3(mesh, backing, http, customer):
    response = http.post(
        "/v1/brochures",
        json={"firstName": "John", "lastName": "Smith", "email": customer, "phone": "07700 900456", "postcode": "M1 1AE", "address": "2 Low St"},
    )
    assert response.status_code == 201 and response.json() == {"message": "Brochure on its way"}
    message = wait_for(lambda: mesh.mail_to(customer), what="the brochure email")[0]
    s3 = backing["s3"]
    client = boto3.client("s3", endpoint_url=s3.url, aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key, region_name="us-east-1")
    expected = client.get_object(Bucket="brochures", Key="brochure.pdf")["Body"].read()
    pdfs = [v for k, v in attachments(message).items() if k.endswith(".pdf")]
    assert pdfs == [expected]


def test_the_fourth_brochure_request_in_an_hour_is_429_with_retry_after(http, customer):
    form = {"firstName": "John", "lastName": "Smith", "email": customer, "phone": "07700 900456", "postcode": "M1 1AE", "address": "2 Low St"}
    for variant in (customer, customer.upper(), f"  {customer} "):
        assert http.post("/v1/brochures", json={**form, "email": variant}).status_code == 201
    refused = http.post("/v1/brochures", json=form)
    assert refused.status_code == 429
    assert refused.json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert 0 < int(refused.headers["retry-after"]) <= 3600


def test_a_brochure_request_with_bad_details_is_400_and_changes_nothing(mesh, http, customer):
    import psycopg

    refused = http.post("/v1/brochures", json={"firstName": "", "email": customer, "phone": "1", "postcode": "x", "address": ""})
    assert refused.status_code == 400
    assert {"firstName", "lastName", "phone", "postcode", "address"} <= {f["field"] for f in refused.json()["fields"]}
    with psycopg.connect(mesh.database_url) as connection:
        assert connection.execute("SELECT count(*) FROM brochure_requests WHERE email = %s", (customer,)).fetchone()[0] == 0
