from __future__ import annotations

import pytest

from appointment_svc.domain.validation import (
    canonical_email,
    clean_contact,
    has_control_characters,
    is_email,
    is_uk_phone,
    is_uk_postcode,
    normalise_email,
    validate_contact,
)
from appointment_svc.entrypoints.convert import cancel_reason

GOOD = dict(
    first_name="Jane", last_name="Doe", email="jane@example.co.uk", phone="07700 900123",
    postcode="SW1A 1AA", address="10 Downing Street, London",
)  # fmt: skip


def fields(**overrides) -> list[str]:
    values = {**GOOD, **overrides}
    address_required = values.pop("address_required", True)
    return [v.field for v in validate_contact(**values, address_required=address_required)]


def test_complete_details_have_no_violations():
    assert fields() == []


def test_every_missing_field_is_reported_with_its_json_name():
    assert fields(first_name=" ", last_name="", email="", phone="", postcode="", address="") == [
        "firstName", "lastName", "email", "phone", "postcode", "address",
    ]  # fmt: skip


def test_address_may_be_omitted_when_not_required():
    assert fields(address="", address_required=False) == []


@pytest.mark.parametrize("email", ["jane@example.com", "jane.doe+kitchen@example.co.uk", "  J.Doe@Example.COM  ", "o'neil@mail.ie"])
def test_real_email_addresses_are_accepted(email):
    assert is_email(email)


@pytest.mark.parametrize(
    "email", ["jane", "jane@", "@example.com", "jane@example", "jane@@example.com", "jane..doe@example.com",
              "jane@-example.com", "jane doe@example.com", "jane@example.c", "jane@exa_mple.com", "a\n@example.com"],
)  # fmt: skip
def test_malformed_email_addresses_are_refused(email):
    assert not is_email(email)
    assert fields(email=email) == ["email"]


@pytest.mark.parametrize(
    "phone", ["07700 900123", "07700900123", "+44 7700 900123", "+44 (0)7700 900123", "0044 7700 900123",
              "020 7946 0958", "(020) 7946-0958", "0161 496 0000", "0800 123456", "01697 71234"],
)  # fmt: skip
def test_uk_phone_numbers_are_accepted_in_their_usual_spellings(phone):
    assert is_uk_phone(phone)


@pytest.mark.parametrize("phone", ["0770090012", "077009001234", "+1 555 123 4567", "06123 456789", "phone", "7700900123"])
def test_non_uk_or_malformed_phone_numbers_are_refused(phone):
    assert not is_uk_phone(phone)


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "sw1a1aa", " M1 1AE ", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "W1A 0AX", "GIR 0AA"])
def test_uk_postcodes_are_accepted_in_any_case_and_spacing(postcode):
    assert is_uk_postcode(postcode)


@pytest.mark.parametrize("postcode", ["SW1A", "M1", "12345", "QW1 1AA", "SW1A 1AAA", "SW1A 1CA", "Z1A 0B1"])
def test_partial_or_impossible_postcodes_are_refused(postcode):
    assert not is_uk_postcode(postcode)


def test_names_with_control_characters_are_refused_but_multi_line_addresses_are_fine():
    assert fields(first_name="Jane\r\nBcc: x@example.com") == ["firstName"]
    assert fields(address="Flat 2\n10 High Street") == []


def test_overlong_values_are_refused():
    assert fields(last_name="x" * 101, address="y" * 501) == ["lastName", "address"]


def test_emails_are_compared_without_case_or_surrounding_spaces():
    assert normalise_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"


def test_clean_contact_gives_the_stored_form():
    contact = clean_contact(" Jane ", "Doe ", " Jane@Example.com ", "+44 (0)7700 900-123", "sw1a1aa", " 1 High St ")
    assert (contact.first_name, contact.last_name, contact.email) == ("Jane", "Doe", "Jane@Example.com")
    assert (contact.phone, contact.postcode, contact.address) == ("07700900123", "SW1A 1AA", "1 High St")


@pytest.mark.parametrize(
    "variant",
    ["victim@gmail.com", "Victim@Gmail.com", "victim+1@gmail.com", "v.i.c.t.i.m@gmail.com", "victim@googlemail.com",
     " V.ictim+spam+more@GoogleMail.COM "],
)  # fmt: skip
def test_every_spelling_of_a_gmail_mailbox_is_one_canonical_address(variant):
    assert canonical_email(variant) == "victim@gmail.com"


def test_other_domains_lose_the_tag_and_case_but_keep_their_dots():
    assert canonical_email("Jane.Doe+shop@Example.co.uk") == "jane.doe@example.co.uk"
    assert canonical_email("jane.doe@example.co.uk") != canonical_email("janedoe@example.co.uk")


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\n", "\x1b", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"])
def test_every_control_character_and_line_separator_in_a_name_is_refused(char):
    assert fields(first_name=f"Jane{char}URL:x", last_name=f"Doe{char}x") == ["firstName", "lastName"]


@pytest.mark.parametrize("char", ["\x00", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
def test_an_address_refuses_every_control_character_but_a_line_break(char):
    assert fields(address=f"1 High St{char}ATTENDEE:x") == ["address"]


@pytest.mark.parametrize("break_", ["\n", "\r\n", "\r"])
def test_an_address_keeps_its_line_breaks_stored_as_newlines(break_):
    address = f"Flat 2{break_}10 High Street{break_}London"
    assert fields(address=address) == []
    stored = clean_contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", address).address
    assert stored == "Flat 2\n10 High Street\nLondon"


def test_control_checks_allow_ordinary_unicode_text():
    assert not has_control_characters("Zoë O'Brien-Łukasz, 12 Rue de l'Église")
    assert has_control_characters("a\rb", allow_newlines=False) and not has_control_characters("a\rb", allow_newlines=True)


@pytest.mark.parametrize("reason", ["moved\x1b[2J", "moved\u2028URL:x", "moved\x85x", "moved\x00"])
def test_a_cancel_reason_with_control_characters_is_refused(reason):
    violations = []
    cancel_reason(reason, violations, required=False)
    assert [v.field for v in violations] == ["reason"]


def test_a_cancel_reason_keeps_its_line_breaks_as_newlines():
    violations = []
    assert cancel_reason(" Moving house.\r\nSorry!\rBye ", violations, required=True) == "Moving house.\nSorry!\nBye"
    assert violations == []
