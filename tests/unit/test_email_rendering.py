from __future__ import annotations

import re
from datetime import datetime, timezone

import icalendar
import pytest

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from booking_mesh.brochure_pdf import brochure_pdf
from notification_svc.emails import BROCHURE, CONFIRMATION, TEAM_ALERT, EmailComposer
from notification_svc.formatting import london_datetime

UTC = timezone.utc
BOOKING_ID = "7d9a1c52-3f7e-4c1e-9c57-2d7c6b2f0a11"


def composer() -> EmailComposer:
    return EmailComposer(
        mail_from="Bookings <bookings@example.co.uk>",
        brand_name="Fitted Kitchens & Bedrooms",
        team_address=lambda team: f"{team}-team@example.co.uk",
        clock=lambda: datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
    )


def appointment(starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC), **overrides) -> res.Appointment:
    values = dict(
        booking_id=BOOKING_ID, reference_code="BK-20260303-0042", status=res.PENDING, type=res.HOME_MEASUREMENT,
        for_kitchen=True, for_bedroom=False, first_name="Jane", last_name="Doe", email="jane@example.com",
        phone="07700900123", postcode="SW1A 1AA", address="10 Downing Street, London", user_id="user-1",
    )  # fmt: skip
    values.update(overrides)
    result = res.Appointment(**values)
    result.slot.slot_id = "slot-1"
    result.slot.starts_at.FromDatetime(starts_at)
    result.slot.ends_at.FromDatetime(starts_at.replace(hour=starts_at.hour + 1))
    result.slot.consultant.name = "Amelia Hart"
    return result


def created(**overrides) -> events_pb2.BookingCreated:
    event = events_pb2.BookingCreated(event_id="0b6c2b53-8f0e-4c43-bb4c-9a51b8f3c1d2", appointment=appointment(**overrides))
    event.occurred_at.FromDatetime(datetime(2026, 2, 1, 11, 59, tzinfo=UTC))
    return event


def cancelled(**overrides) -> events_pb2.BookingCancelled:
    event = events_pb2.BookingCancelled(
        event_id="5f1e7f7a-2d55-4a39-a5f5-0a3f0b9d9e01", appointment=appointment(status=res.CANCELLED, **overrides)
    )
    event.occurred_at.FromDatetime(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    return event


def render_all(subject, event, **kwargs):
    c = composer()
    return [c.render(subject, event, d, **kwargs) for d in c.plan(subject, event)]


def text_of(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def calendar_of(message) -> str:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()


def test_london_time_is_gmt_in_winter():
    ts = appointment(starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC)).slot.starts_at
    assert london_datetime(ts) == "Tuesday 3 March 2026, 10:00"


def test_london_time_is_bst_in_summer():
    ts = appointment(starts_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC)).slot.starts_at
    assert london_datetime(ts) == "Wednesday 1 July 2026, 10:00"


def test_london_time_on_the_day_clocks_go_forward():
    ts = appointment(starts_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC)).slot.starts_at
    assert london_datetime(ts) == "Sunday 29 March 2026, 02:30"


def test_booking_confirmation_goes_to_the_customer_with_the_facts():
    confirmation, _ = render_all("booking.created", created())
    assert confirmation["To"] == "jane@example.com"
    assert "BK-20260303-0042" in confirmation["Subject"]
    for body in (text_of(confirmation, "plain"), text_of(confirmation, "html")):
        assert "Tuesday 3 March 2026, 10:00" in body
        assert "BK-20260303-0042" in body
        assert "home measurement visit" in body.lower()
        assert "SW1A 1AA" in body
        assert "Amelia Hart" in body


def test_summer_booking_email_shows_bst_time():
    confirmation, _ = render_all("booking.created", created(starts_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC)))
    assert "Wednesday 1 July 2026, 10:00" in text_of(confirmation, "plain")
    assert "10:00" in confirmation["Subject"]


def test_html_escapes_customer_input_and_plain_text_keeps_it_verbatim():
    confirmation, alert = render_all(
        "booking.created", created(first_name="<script>alert(1)</script>", address="1 Rose & Crown Yard")
    )
    for message in (confirmation, alert):
        html = text_of(message, "html")
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "Rose &amp; Crown" in html
    assert "<script>alert(1)</script>" in text_of(confirmation, "plain")


@pytest.mark.parametrize(
    ("kitchen", "bedroom", "teams"),
    [(True, False, ["kitchen-team@example.co.uk"]), (False, True, ["bedroom-team@example.co.uk"]),
     (True, True, ["kitchen-team@example.co.uk", "bedroom-team@example.co.uk"])],
)  # fmt: skip
def test_team_alerts_go_to_each_requested_team_once(kitchen, bedroom, teams):
    deliveries = composer().plan("booking.created", created(for_kitchen=kitchen, for_bedroom=bedroom))
    assert [d.recipient for d in deliveries if d.kind == TEAM_ALERT] == teams
    assert [d.recipient for d in deliveries if d.kind == CONFIRMATION] == ["jane@example.com"]


def test_team_alert_carries_the_customer_details_the_team_needs():
    _, alert = render_all("booking.created", created())
    assert alert["To"] == "kitchen-team@example.co.uk"
    assert "kitchen" in alert["Subject"] and "BK-20260303-0042" in alert["Subject"]
    body = text_of(alert, "plain")
    for fact in ("Jane Doe", "jane@example.com", "07700900123", "10 Downing Street, London", "SW1A 1AA",
                 "Tuesday 3 March 2026, 10:00", "Home measurement visit", BOOKING_ID):  # fmt: skip
        assert fact in body
    assert not list(alert.iter_attachments())


def test_confirmation_invites_with_a_stable_uid_in_utc():
    first = calendar_of(render_all("booking.created", created())[0])
    again = calendar_of(render_all("booking.created", created())[0])
    assert first == again
    assert "METHOD:REQUEST" in first
    assert f"UID:{BOOKING_ID}@booking-mesh" in first
    summer = calendar_of(render_all("booking.created", created(starts_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC)))[0])
    assert "DTSTART:20260701T090000Z" in summer and "DTEND:20260701T100000Z" in summer
    assert all(line.endswith("\r") or line == "" for line in first.split("\n"))


def test_cancellation_cancels_the_same_uid_with_a_higher_sequence():
    message, *alerts = render_all("booking.cancelled", cancelled())
    assert message["To"] == "jane@example.com" and alerts and all(a["To"] != "jane@example.com" for a in alerts)
    assert "Cancelled" in message["Subject"] and "BK-20260303-0042" in message["Subject"]
    invite = calendar_of(render_all("booking.created", created())[0])
    cancel = calendar_of(message)
    assert "METHOD:CANCEL" in cancel and "STATUS:CANCELLED" in cancel
    assert f"UID:{BOOKING_ID}@booking-mesh" in cancel
    sequence = lambda text: int(re.search(r"SEQUENCE:(\d+)", text).group(1))  # noqa: E731
    assert sequence(cancel) > sequence(invite)


def test_calendar_lines_are_folded_at_75_octets():
    cancel = calendar_of(render_all("booking.cancelled", cancelled(address="Flat 12, " + "Long Road Name " * 10))[0])
    assert all(len(line.encode()) <= 75 for line in cancel.replace("\r\n", "\n").split("\n"))


def test_message_ids_are_deterministic_per_event_email_and_recipient():
    one, two = render_all("booking.created", created()), render_all("booking.created", created())
    assert [m["Message-ID"] for m in one] == [m["Message-ID"] for m in two]
    assert len({m["Message-ID"] for m in one}) == 2
    assert "jane" not in one[0]["Message-ID"]


def test_brochure_email_attaches_the_pdf():
    event = events_pb2.BrochureRequested(
        event_id="8c1c9f65-0f7e-4bd0-9a1a-4b1e0f3b5e7a", request_id="r-1", first_name="John", last_name="Smith",
        email="john@example.com", phone="07700900456", postcode="M1 1AE", address="1 Piccadilly",
    )  # fmt: skip
    pdf = brochure_pdf()
    (message,) = render_all("brochure.requested", event, brochure_pdf=pdf)
    assert message["To"] == "john@example.com"
    assert "brochure" in message["Subject"].lower()
    assert "John" in text_of(message, "plain")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "brochure.pdf"
    assert attachment.get_content() == pdf
    assert composer().plan("brochure.requested", event)[0].kind == BROCHURE


def test_events_that_cannot_make_an_email_are_refused():
    with pytest.raises(ValueError):
        composer().plan("booking.created", events_pb2.BookingCreated(event_id="x"))
    with pytest.raises(ValueError):
        composer().plan("booking.exploded", created())


def test_brochure_pdf_is_a_well_formed_pdf():
    pdf = brochure_pdf()
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[startxref:].startswith(b"xref\n")
    entries = pdf[startxref:].split(b"\n")[3:]
    offsets = [int(line[:10]) for line in entries if line.endswith(b" n ")]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"Fitted Kitchens" in pdf


def test_the_sample_brochure_reads_like_one_page_after_page():
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(brochure_pdf()), strict=True)
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 5 and reader.metadata.title == "Fitted Kitchens & Bedrooms - Brochure"
    assert all(f"page {n} of {len(pages)}" in text for n, text in enumerate(pages, start=1))
    everything = " ".join(pages)
    for topic in ("Kitchens", "Bedrooms", "Finishes", "How a project runs", "Book an appointment", "home measurement visit"):
        assert topic in everything


def test_staff_confirmation_updates_the_invitation_between_request_and_cancel():
    event = events_pb2.BookingConfirmed(event_id="3c0f1d7e-95c5-4f3e-8a43-1f4d8f0d2b77", appointment=appointment(status=res.CONFIRMED))
    (message,) = render_all("booking.confirmed", event)
    assert message["To"] == "jane@example.com" and "Confirmed" in message["Subject"]
    confirmed = calendar_of(message)
    sequence = lambda text: int(re.search(r"SEQUENCE:(\d+)", text).group(1))  # noqa: E731
    invite = calendar_of(render_all("booking.created", created())[0])
    cancel = calendar_of(render_all("booking.cancelled", cancelled())[0])
    assert "METHOD:REQUEST" in confirmed and "STATUS:CONFIRMED" in confirmed
    assert sequence(invite) < sequence(confirmed) < sequence(cancel)
    assert f"UID:{BOOKING_ID}@booking-mesh" in confirmed


# -- hostile text (issue 9, class 4): nothing a customer or staff member types can add a calendar
# property, a second event, a header or a line of its own.

LINE_ENDERS = ["\r", "\n", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"]
INJECTION = "URL:https://evil.example\r\nATTENDEE:mailto:boss@victim.example\rEND:VEVENT\rBEGIN:VEVENT\rSUMMARY:Pay now"


def _lenient_lines(calendar: str) -> list[str]:
    """Lines as the most lenient parser sees them: any CR, LF or Unicode separator ends one."""
    unfolded = calendar.replace("\r\n ", "")
    return [line for line in re.split("\r\n|[\r\n\x85\u2028\u2029\x0b\x0c]", unfolded) if line]


@pytest.mark.parametrize("line_end", LINE_ENDERS)
def test_a_hostile_address_name_and_designer_cannot_inject_calendar_properties(line_end):
    hostile = INJECTION.replace("\r\n", line_end).replace("\r", line_end)
    event = created(address=f"1 High St{line_end}{hostile}", first_name=f"Jane{line_end}{hostile}", last_name="\x00\x1b\x7f\x9f")
    event.appointment.slot.consultant.name = f"Amelia{line_end}{hostile}"
    confirmation = render_all("booking.created", event)[0]
    calendar = calendar_of(confirmation)

    parsed = icalendar.Calendar.from_ical(calendar)
    (vevent,) = parsed.walk("VEVENT")
    assert "URL" not in vevent and vevent.get("ATTENDEE").lower() == "mailto:jane@example.com"
    assert "1 High St" in str(vevent["LOCATION"]) and "URL:https://evil.example" in str(vevent["LOCATION"])
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in _lenient_lines(calendar)]
    assert names.count("BEGIN") == 2 and names.count("END") == 2  # VCALENDAR and one VEVENT
    assert "URL" not in names and names.count("ATTENDEE") == 1 and names.count("SUMMARY") == 1
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", calendar.replace("\r\n", ""))


@pytest.mark.parametrize("line_end", LINE_ENDERS)
def test_hostile_text_cannot_add_headers_or_control_characters_to_the_email(line_end):
    hostile = f"x{line_end}Bcc: victim@example.com{line_end}\x1b[31m"
    event = cancelled(address=f"1 High St{line_end}Flat 2", first_name=hostile, cancel_reason=hostile)
    event.appointment.slot.consultant.name = hostile
    messages = render_all("booking.cancelled", event)  # the customer's and each team's alert
    assert len(messages) == 2
    for message in messages:
        assert message["Bcc"] is None and list(message.keys()).count("To") == 1
        for subtype in ("plain", "html"):
            body = text_of(message, subtype)
            assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", body.replace("\r\n", "\n")), subtype


# -- the first hour (issue 16): what a customer and the teams read


def configured(**settings) -> EmailComposer:
    return EmailComposer(
        mail_from="Bookings <bookings@example.co.uk>", brand_name="Fitted Kitchens & Bedrooms",
        team_address=lambda team: f"{team}-team@example.co.uk", clock=lambda: datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
        **settings,
    )  # fmt: skip


def test_the_first_email_says_the_request_was_received_and_that_a_confirmation_follows():
    confirmation = render_all("booking.created", created())[0]
    assert confirmation["Subject"].startswith("Booking request received BK-20260303-0042")
    body = text_of(confirmation, "plain")
    assert "received your request" in body and "second email" in body and "Thank you for booking" not in body


def test_a_showroom_visit_says_where_the_showroom_is_in_the_email_and_the_invitation():
    c = configured(showroom_address="Fitted Kitchens & Bedrooms, 1 Example Road, London SW1A 1AA")
    event = created(type=res.SHOWROOM_VISIT)
    message = c.render("booking.created", event, c.plan("booking.created", event)[0])
    assert "1 Example Road, London SW1A 1AA" in text_of(message, "plain")
    assert "LOCATION:Fitted Kitchens & Bedrooms\\, 1 Example Road\\, London SW1A 1AA" in calendar_of(message).replace("\r\n ", "")
    # Without the setting it still says something true.
    assert "Our showroom" in text_of(render_all("booking.created", event)[0], "plain")


def test_a_cancellation_alerts_each_team_of_the_booking_with_the_reason():
    event = cancelled(for_kitchen=True, for_bedroom=True, cancel_reason="Moving house")
    customer, *alerts = render_all("booking.cancelled", event)
    assert customer["To"] == "jane@example.com"
    assert sorted(a["To"] for a in alerts) == ["bedroom-team@example.co.uk", "kitchen-team@example.co.uk"]
    for alert in alerts:
        assert alert["Subject"].startswith("Cancelled ") and "BK-20260303-0042" in alert["Subject"]
        body = text_of(alert, "plain")
        assert "cancelled" in body and "Moving house" in body and "do not forward" in body
        assert not list(alert.iter_attachments())  # no calendar invitation for the teams


def test_the_brochure_email_links_to_the_booking_page_when_one_is_configured():
    event = events_pb2.BrochureRequested(
        event_id="8c1c9f65-0f7e-4bd0-9a1a-4b1e0f3b5e7a", request_id="r-1", first_name="John", last_name="Smith",
        email="john@example.com", phone="07700900456", postcode="M1 1AE", address="1 Piccadilly",
    )  # fmt: skip
    c = configured(booking_url="https://www.example.co.uk/book")
    message = c.render("brochure.requested", event, c.plan("brochure.requested", event)[0], brochure_pdf=brochure_pdf())
    assert "https://www.example.co.uk/book" in text_of(message, "plain")
    assert 'href="https://www.example.co.uk/book"' in text_of(message, "html")
