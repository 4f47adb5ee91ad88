"""Issue 9 through the real Envoy: what a customer (or an abuser) sees of the new limits and rules."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import icalendar

from tests.e2e.helpers import a_customer, a_future_day, an_email, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form
from tests.polling import wait_for


def a_slot(mesh, categories=("KITCHEN", "BEDROOM"), day: date | None = None, kind="SHOWROOM_VISIT"):
    consultant = add_consultant(mesh.database_url, categories=categories)
    return add_slot(mesh.database_url, consultant, london(day or a_future_day(), 10), kind=kind)


def book(http, mesh, user: str, email: str, slot=None, **overrides):
    form = booking_form(slot or a_slot(mesh), email=email, **overrides)
    return http.post("/v1/appointments", json=form, headers=mesh.auth(user))


def test_a_fourth_upcoming_booking_by_one_customer_is_409_until_one_is_cancelled(mesh, http):
    customer = a_customer()
    made = [book(http, mesh, customer, an_email()) for _ in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    refused = book(http, mesh, customer, an_email())
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "BOOKING_LIMIT_REACHED"
    assert "cancel one" in refused.json()["message"]
    cancel = http.patch(f"/v1/appointments/{made[0].json()['bookingId']}/cancel", json={}, headers=mesh.auth(customer))
    assert cancel.status_code == 200
    assert book(http, mesh, customer, an_email()).status_code == 201


def test_booking_emails_to_one_gmail_mailbox_stop_at_ten_a_day_with_retry_after(mesh, http):
    name = f"victim{uuid.uuid4().hex[:8]}"
    spellings = [f"{name}+{i}@gmail.com" for i in range(2)] + [f"{name[:3]}.{name[3:]}@googlemail.com"] * 2
    # Four bookings by four customers, three of them cancelled: seven emails, one notice promised.
    customers = [a_customer() for _ in spellings]
    made = [book(http, mesh, customer, email) for customer, email in zip(customers, spellings, strict=True)]
    assert [r.status_code for r in made] == [201] * 4
    for response, customer in list(zip(made, customers, strict=True))[:3]:
        cancel = http.patch(f"/v1/appointments/{response.json()['bookingId']}/cancel", json={}, headers=mesh.auth(customer))
        assert cancel.status_code == 200
    assert book(http, mesh, a_customer(), f"{name}@gmail.com").status_code == 201  # 8 sent, 2 promised

    refused = book(http, mesh, a_customer(), f"{name}+eleventh@GMAIL.com")
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "RATE_LIMIT_EXCEEDED" and "24 hours" in refused.json()["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
    # Cancelling is never refused: its notice was promised when the booking was made.
    last = made[3].json()["bookingId"]
    assert http.patch(f"/v1/appointments/{last}/cancel", json={}, headers=mesh.auth(customers[3])).status_code == 200
    # A different mailbox is not affected.
    assert book(http, mesh, a_customer(), f"{name}x@gmail.com").status_code == 201


def test_a_kitchen_only_designer_cannot_be_booked_for_a_bedroom(mesh, http):
    slot = a_slot(mesh, categories=("KITCHEN",))
    response = book(http, mesh, a_customer(), an_email(), slot, forKitchen=False, forBedroom=True)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and [f["field"] for f in body["fields"]] == ["forBedroom"]
    assert "does not plan bedrooms" in body["fields"][0]["description"]
    assert book(http, mesh, a_customer(), an_email(), slot, forKitchen=True, forBedroom=False).status_code == 201


def test_a_slot_beyond_the_booking_horizon_cannot_be_booked_by_id(mesh, http):
    slot = a_slot(mesh, day=date.today() + timedelta(days=800))
    response = book(http, mesh, a_customer(), an_email(), slot)
    assert response.status_code == 400, response.text
    assert [f["field"] for f in response.json()["fields"]] == ["slotId"]


def test_a_name_with_a_line_separator_is_400(mesh, http):
    for hostile in ("Jane\u2028URL:x", "Jane\x85x", "Jane\rATTENDEE:x", "Jane\x1b[2J"):
        response = book(http, mesh, a_customer(), an_email(), firstName=hostile)
        assert response.status_code == 400 and [f["field"] for f in response.json()["fields"]] == ["firstName"], hostile


def test_an_address_with_a_lone_carriage_return_cannot_inject_into_the_invitation(mesh, http):
    email = an_email()
    address = "1 High St\rURL:https://evil.example\rEND:VEVENT\rBEGIN:VEVENT\rSUMMARY:Pay now"
    slot = a_slot(mesh, kind="HOME_MEASUREMENT")
    response = book(http, mesh, a_customer(), email, slot, address=address, type="HOME_MEASUREMENT")
    assert response.status_code == 201, response.text
    confirmation = wait_for(lambda: mesh.mail_to(email), what="the confirmation")[0]
    (ics,) = [p.get_payload(decode=True).decode() for p in confirmation.iter_attachments() if p.get_filename().endswith(".ics")]
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert "URL" not in event and "1 High St\nURL:https://evil.example" in str(event["LOCATION"])
    assert len(re.findall(r"^BEGIN:VEVENT", ics.replace("\r", "\n"), flags=re.M)) == 1
