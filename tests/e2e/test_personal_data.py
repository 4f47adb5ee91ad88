"""Issue 15 end to end: a customer's export through the gateway, and erasure reaching every store.

After `DELETE /v1/me` the cancellation emails and team alerts arrive, then (bounded poll) no
PostgreSQL table, outbox payload, sent-ledger entry or key, events or dead-letter stream message,
or log file of the mesh holds any of the erased values. The emails in the SMTP sink are the
recipients' mailboxes, not the mesh's stores: they are not searched.
"""
from __future__ import annotations

import asyncio
import uuid

import nats
import psycopg
from nats.js.errors import NotFoundError

from mesh_common import events
from mesh_common.events import EventTopology, recipient_fingerprint
from tests.e2e.helpers import a_future_day, london
from tests.integration.booking_fixtures import add_consultant, add_slot, appointment_has_started, booking_form
from tests.polling import wait_for

KITCHEN_TEAM = "kitchen-team@example.co.uk"
TOPOLOGY = EventTopology()
LEDGER_BUCKET = "notification_sent"


class Person:
    def __init__(self):
        tag = uuid.uuid4().hex[:8]
        self.sub = f"customer-{tag}"
        self.first, self.last = f"Erin{tag}", f"Erasedotter{tag}"
        self.email = f"erin.{tag}@example.com"
        self.phone = f"07700 9{int(tag, 16) % 100000:05d}"
        self.address = f"{int(tag, 16) % 900 + 100} Forget-Me Lane {tag}"
        self.reason = f"No longer needed {tag}"
        # A postcode of its own, so a search for it finds only this person's copies.
        self.postcode = f"M{int(tag, 16) % 60 + 1} {int(tag, 16) % 10}{'ABDEFGHJLN'[int(tag, 16) % 10]}{'PQRSTUWXYZ'[int(tag, 16) // 10 % 10]}"

    def form(self, slot) -> dict:
        return booking_form(
            slot, firstName=self.first, lastName=self.last, email=self.email, phone=self.phone,
            postcode=self.postcode, address=self.address,
        )  # fmt: skip

    def secrets(self) -> list[str]:
        return [self.first, self.last, self.email, self.phone, self.phone.replace(" ", ""), self.postcode, self.address, self.reason]


def book(mesh, http, person: Person, hour: int) -> dict:
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), hour))
    response = http.post("/v1/appointments", json=person.form(slot), headers=mesh.auth(person.sub))
    assert response.status_code == 201, response.text
    return {**response.json(), "slotId": str(slot)}


def a_customer_with_a_past_a_cancelled_and_an_upcoming_booking(mesh, http, staff) -> tuple[Person, dict, dict, dict]:
    person = Person()
    done = book(mesh, http, person, 9)
    assert http.post(f"/v1/admin/appointments/{done['bookingId']}/confirm", json={}, headers=staff).status_code == 200
    appointment_has_started(mesh.database_url, uuid.UUID(done["slotId"]))
    assert http.post(f"/v1/admin/appointments/{done['bookingId']}/complete", json={}, headers=staff).status_code == 200
    cancelled = book(mesh, http, person, 11)
    response = http.patch(
        f"/v1/appointments/{cancelled['bookingId']}/cancel", json={"reason": person.reason}, headers=mesh.auth(person.sub)
    )
    assert response.status_code == 200, response.text
    upcoming = book(mesh, http, person, 13)
    brochure = {
        "firstName": person.first, "lastName": person.last, "email": person.email, "phone": person.phone,
        "postcode": person.postcode, "address": person.address,
    }  # fmt: skip
    assert http.post("/v1/brochures", json=brochure).status_code == 201
    return person, done, cancelled, upcoming


# -- every store of the mesh, as text


def postgres_text(database_url: str) -> str:
    with psycopg.connect(database_url) as connection:
        tables = [r[0] for r in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        rows = [str(r) for t in tables for r in connection.execute(f'SELECT t::text FROM "{t}" AS t')]
        # bytea shows as hex in a row's text: the outbox payloads are searched as the bytes they are.
        payloads = [bytes(r[0]).decode("utf-8", "replace") for r in connection.execute("SELECT payload FROM outbox")]
    return "\n".join(rows + payloads)


async def stream_text(nats_url: str, stream: str) -> str:
    """Every message of a stream: subject, headers and payload."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return ""
        parts, seq = [], info.state.first_seq
        while seq <= info.state.last_seq:
            try:
                raw = await js.get_msg(stream, seq=seq, next=True, subject=">")
            except NotFoundError:
                break
            parts.append(f"{raw.subject} {raw.headers} {(raw.data or b'').decode('utf-8', 'replace')}")
            seq = raw.seq + 1
        return "\n".join(parts)
    finally:
        await nc.close()


def nats_text(mesh) -> str:
    url = mesh.env["NATS_URL"]
    return "\n".join(
        asyncio.run(stream_text(url, name)) for name in (TOPOLOGY.stream, TOPOLOGY.dlq_stream, f"KV_{LEDGER_BUCKET}")
    )


def logs_text(mesh) -> str:
    # The services' and gateway's logs, and the backing servers' (PostgreSQL, NATS, ...).
    return "\n".join(p.read_text(errors="replace") for p in mesh.home.parent.rglob("*.log"))


def stores_holding(mesh, secrets: list[str], extra: list[str] = ()) -> dict[str, list[str]]:
    found = {}
    for store, text in (("postgres", postgres_text(mesh.database_url)), ("nats", nats_text(mesh)), ("logs", logs_text(mesh))):
        hits = [s for s in [*secrets, *extra] if s in text]
        if hits:
            found[store] = hits
    return found


def dead_letter(mesh, booking_id: str) -> None:
    """A dead letter of the booking's confirmation, as the notification service writes one when it
    gives up on an event: the erasure must reach that copy too."""
    with psycopg.connect(mesh.database_url) as connection:
        event_id, payload = connection.execute(
            "SELECT id, payload FROM outbox WHERE owner_id = %s AND subject = 'booking.created'", (booking_id,)
        ).fetchone()

    async def publish():
        nc = await nats.connect(mesh.env["NATS_URL"])
        try:
            await nc.jetstream().publish(
                TOPOLOGY.dlq_subject("booking.created"), bytes(payload),
                headers={
                    events.MSG_ID_HEADER: f"test-dlq-{event_id}", events.DLQ_EVENT_ID: str(event_id),
                    events.DLQ_ORIGINAL_SUBJECT: "booking.created", events.DLQ_REASON: "test",
                },
            )  # fmt: skip
        finally:
            await nc.close()

    asyncio.run(publish())


def admin_totals(http, staff) -> dict[str, int]:
    return {
        status: http.get(f"/v1/admin/appointments?status={status}&limit=1", headers=staff).json()["total"]
        for status in ("PENDING", "CONFIRMED", "CANCELLED", "COMPLETED", "NO_SHOW")
    }


# -- the tests


def test_the_export_through_the_gateway_has_the_documented_shape_and_only_the_callers_data(mesh, http, staff):
    person, done, cancelled, upcoming = a_customer_with_a_past_a_cancelled_and_an_upcoming_booking(mesh, http, staff)
    other = Person()
    book(mesh, http, other, 15)

    response = http.get("/v1/me/data", headers=mesh.auth(person.sub))

    assert response.status_code == 200, response.text
    export = response.json()
    assert set(export) == {"userId", "exportedAt", "bookings", "emails", "brochureRequests"}
    assert export["userId"] == person.sub
    assert [b["appointment"]["referenceCode"] for b in export["bookings"]] == [
        upcoming["referenceCode"], cancelled["referenceCode"], done["referenceCode"]
    ]  # fmt: skip
    first = export["bookings"][-1]
    assert {"appointment", "history"} <= set(first)
    assert first["appointment"]["email"] == person.email and first["appointment"]["status"] == "COMPLETED"
    assert [h["toStatus"] for h in first["history"]] == ["PENDING", "CONFIRMED", "COMPLETED"]
    assert export["bookings"][1]["history"][-1]["reason"] == person.reason
    assert {e["kind"] for e in export["emails"]} >= {"booking-confirmation", "booking-cancellation"}
    assert all(set(e) == {"bookingId", "referenceCode", "kind", "sentAt"} for e in export["emails"])
    assert [(b["email"], b["address"]) for b in export["brochureRequests"]] == [(person.email, person.address)]
    assert other.email not in response.text and other.sub not in response.text
    assert http.get("/v1/me/data").status_code == 401
    assert other.email not in http.get("/v1/me/data", headers=staff).text  # staff get their own: none


def test_erasure_sends_the_cancellation_then_leaves_no_copy_in_any_store(mesh, http, staff):
    person, done, cancelled, upcoming = a_customer_with_a_past_a_cancelled_and_an_upcoming_booking(mesh, http, staff)
    wait_for(lambda: len(mesh.mail_to(person.email)) >= 5, what="the confirmations, the cancellation and the brochure")
    dead_letter(mesh, upcoming["bookingId"])
    totals = admin_totals(http, staff)
    fingerprint = recipient_fingerprint(person.email)
    # The search finds her where she is: the tables, the outbox, the streams and the ledger's keys.
    assert set(stores_holding(mesh, person.secrets(), [fingerprint])) == {"postgres", "nats"}

    response = http.delete("/v1/me", headers=mesh.auth(person.sub))

    assert response.status_code == 200, response.text
    assert response.json()["erased"] == {
        "bookingsCancelled": 1, "bookingsAnonymised": 3, "historyReasonsErased": 2, "emailsAnonymised": 6,
        "brochureRequestsAnonymised": 1,
    }  # fmt: skip
    cancellation = wait_for(
        lambda: [m for m in mesh.mail_to(person.email) if upcoming["referenceCode"] in m["Subject"] and "Cancelled" in m["Subject"]],
        what="the erasure's cancellation email",
    )
    assert cancellation
    wait_for(
        lambda: [m for m in mesh.mail_to(KITCHEN_TEAM) if upcoming["referenceCode"] in m["Subject"] and "Cancelled" in m["Subject"]],
        what="the team's cancellation alert",
    )
    wait_for(lambda: stores_holding(mesh, person.secrets(), [fingerprint]) == {}, timeout=60, what="no store holding her data")

    after = admin_totals(http, staff)
    assert sum(after.values()) == sum(totals.values())
    assert after["CANCELLED"] == totals["CANCELLED"] + 1 and after["PENDING"] == totals["PENDING"] - 1
    row = http.get(f"/v1/admin/appointments?referenceCode={done['referenceCode']}", headers=staff).json()["data"][0]
    assert (row["status"], row["email"], row["firstName"]) == ("COMPLETED", "", "")
    again = http.delete("/v1/me", headers=mesh.auth(person.sub))
    assert again.status_code == 200 and set(again.json()["erased"].values()) == {0}
    export = http.get("/v1/me/data", headers=mesh.auth(person.sub)).json()
    assert len(export["bookings"]) == 3 and all("anonymisedAt" in b for b in export["bookings"])


def test_staff_erase_an_address_with_the_same_reach(mesh, http, staff):
    person, done, cancelled, upcoming = a_customer_with_a_past_a_cancelled_and_an_upcoming_booking(mesh, http, staff)
    assert http.post("/v1/admin/erasures", json={"email": person.email}, headers=mesh.auth(person.sub)).status_code == 403
    assert http.post("/v1/admin/erasures", json={"email": "not an address"}, headers=staff).status_code == 400

    response = http.post("/v1/admin/erasures", json={"email": person.email.upper()}, headers=staff)

    assert response.status_code == 200, response.text
    assert response.json()["erased"]["bookingsAnonymised"] == 3
    assert response.json()["erased"]["brochureRequestsAnonymised"] == 1
    wait_for(
        lambda: [m for m in mesh.mail_to(person.email) if upcoming["referenceCode"] in m["Subject"] and "Cancelled" in m["Subject"]],
        what="the erasure's cancellation email",
    )
    wait_for(lambda: stores_holding(mesh, person.secrets()) == {}, timeout=60, what="no store holding her data")
    assert set(http.post("/v1/admin/erasures", json={"email": person.email}, headers=staff).json()["erased"].values()) == {0}
