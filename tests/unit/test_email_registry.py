"""Each email is one registry entry plus its templates; every event and appointment type is covered."""
from __future__ import annotations

import pytest

from appointment_svc.domain.model import AppointmentType
from booking.v1 import resources_pb2 as res
from mesh_common.events import EVENT_TYPES
from notification_svc.emails import _CALENDAR_FILES, EMAILS, EVENT_EMAILS, TEMPLATES, EmailComposer
from notification_svc.formatting import TYPE_WORDS


def test_every_event_on_the_bus_has_a_registry_entry():
    assert set(EVENT_EMAILS) == set(EVENT_TYPES)


def test_each_email_name_is_registered_once():
    names = [email.name for planned in EVENT_EMAILS.values() for email in planned.emails]
    assert len(names) == len(set(names)) == len(EMAILS)


@pytest.mark.parametrize("name", sorted(EMAILS))
def test_every_email_has_a_plain_text_and_an_html_template(name):
    assert (TEMPLATES / f"{name}.txt.j2").is_file() and (TEMPLATES / f"{name}.html.j2").is_file()


def test_every_page_template_belongs_to_a_registered_email():
    # _partials and base.html.j2 are included by the others, never sent on their own.
    pages = {path.name.split(".")[0] for path in TEMPLATES.glob("*.j2") if not path.name.startswith(("_", "base."))}
    assert pages == set(EMAILS)


def test_calendar_methods_are_ones_the_invitation_writer_names_a_file_for():
    assert {email.calendar for email in EMAILS.values() if email.calendar} <= set(_CALENDAR_FILES)


def test_an_event_without_a_registry_entry_makes_no_email():
    composer = EmailComposer(mail_from="B <b@example.co.uk>", brand_name="B", team_address=lambda team: team)
    with pytest.raises(ValueError, match="no emails are defined for booking.exploded"):
        composer.plan("booking.exploded", res.Appointment())


def test_every_appointment_type_reads_as_words_and_a_place():
    proto_types = {value.number for value in res.AppointmentType.DESCRIPTOR.values if value.number != 0}
    assert set(TYPE_WORDS) == proto_types
    assert {res.AppointmentType.Name(kind) for kind in TYPE_WORDS} == {kind.value for kind in AppointmentType}
