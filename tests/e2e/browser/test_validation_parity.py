"""The page checks contact details with web/validation.js before the round trip; the server's
judge is appointment_svc.domain.validation.validate_contact. One table of inputs goes through
both (the JavaScript in real Chromium, as served by the gateway) and they must give the same
violations, in the same order, with the same sentences.
"""
from __future__ import annotations

import pytest

from appointment_svc.domain.validation import (
    is_uk_phone,
    is_uk_postcode,
    normalise_uk_phone,
    normalise_uk_postcode,
    validate_contact,
)

VALID = {
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane@example.com",
    "phone": "07700 900123",
    "postcode": "SW1A 1AA",
    "address": "10 Downing Street, London",
}


def _email_of_length(length: int) -> str:
    """A syntactically fine address of exactly `length` characters (labels of at most 63)."""
    local = "a" * 64
    domain_length = length - len(local) - 1
    labels = []
    while domain_length > 0:
        size = min(63, domain_length - 1 if domain_length > 64 else domain_length)
        labels.append("b" * size)
        domain_length -= size + 1
    labels[-1] = "c" * len(labels[-1])
    return f"{local}@{'.'.join(labels)}"


NAMES = [
    "Jane", "  Jane  ", "", "   ", "\u00a0", "\u3000Jane\u3000", "Zoë", "O'Brien-Smith", "李小龙", "e\u0301" * 50,
    "a" * 100, "a" * 101, " " + "a" * 100 + " ", "é" * 101, "😀" * 100, "😀" * 101,
    "Jane\x00", "Jane\nDoe", "Jane\tDoe", "Jane\x7f", "Jane\x85", "Jane\u2028", "Jane\u2029", "Jane\x1c", "\x1fJane\x1f",
    "Ja\x1cne", "\ufeffJane", "\u200bJane", "\u180eJane", "Jane\r", "\r\nJane", "Jane\x9f",
]  # fmt: skip
EMAILS = [
    "jane@example.com", " jane@example.com ", "JANE@EXAMPLE.CO.UK", "jane.doe+tag@sub.example.org", "jane@example",
    "jane@@example.com", "jane@example..com", ".jane@example.com", "jane.@example.com", "jane..doe@example.com",
    "jane@-example.com", "jane@example-.com", "jane@xn--bcher-kva.example", "jane@example.xn--p1ai", "jäne@example.com",
    "jane@exämple.com", "jane@example.c", "a" * 64 + "@example.com", "a" * 65 + "@example.com", _email_of_length(254),
    _email_of_length(255), "jane@example.com\n", "jane@example.com\u2028", "\u00a0jane@example.com", "jane@ example.com",
    "", " ", "{jane}@example.com", "jane@123.com", "jane@example.123", "jane@localhost", "jane@example.com.",
    "jane@" + "b" * 64 + ".com", "jane@" + "b" * 63 + ".com", "jane@example." + "c" * 64, "j!#$%&'*+/=?^_`{|}~-@example.com",
    "jane\x00@example.com", "\ufeffjane@example.com", "jane@example.co\u200b.uk",
]  # fmt: skip
PHONES = [
    "07700 900123", "07700900123", "+44 7700 900123", "+447700900123", "0044 7700 900123", "+44 (0)7700 900123",
    "+44(0)7700-900-123", "(07700) 900123", "07700.900.123", "020 7946 0018", "0161 496 0000", "01632 960 001",
    "0800 123 456", "0800 123 4567", "0300 123 4567", "0500 123 456", "0600 123 4567", "0470 123 4567", "7700 900123",
    "+1 202 555 0123", "0044 07700 900123", "+4407700900123", "++447700900123", "07700 90012", "077009001234",
    "07700\u00a0900123", "07700\u3000900123", "07700\t900123", "07700\n900123", "07700_900123", "０７７００９００１２３",
    "٠٧٧٠٠٩٠٠١٢٣", "(0)7700 900123", "+44 (0) 7700 900123", "07700 900123 ext 1", "\x1c07700900123\x1f",
    "07700\x85900123", "\ufeff07700900123", "07700\u200b900123", "", "   ", "+44", "0044", "(0)", "+44 (0)",
    "0 1 2 3 4 5 6 7 8 9 0", "09876 543210", "0207-946-0018",
]  # fmt: skip
POSTCODES = [
    "SW1A 1AA", "sw1a1aa", " sw1a 1aa ", "SW1A  1AA", "SW1A\t1AA", "SW1A\n1AA", "GIR 0AA", "gir0aa", "GIR 1AA",
    "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "QA1 1AA", "VA1 1AA", "XA1 1AA", "SW1A 1CA",
    "SW1A 1AI", "SW1A 1AK", "SW1A 1AM", "SW1A 1AO", "SW1A 1AV", "AI1 1AA", "AJ1 1AA", "AZ1 1AA", "W1I 1AA",
    "EC1I 1AA", "SW1A", "SW1A 1A", "12345", "", " ", "SW1A 1AA extra", "ſw1a 1aa", "ｓｗ１ａ １ａａ", "sw1a\u00a01aa",
    "sw1a\u30001aa", "sw1a\u200b1aa", "ﬀ1 1AA", "S-W1A 1AA", "SW1A-1AA", "\x1cSW1A 1AA", "SW1A\ufeff1AA", "w1a0ax",
    "ASCN 1ZZ", "ascn1zz", "BBND 1ZZ", "BIQQ 1ZZ", "FIQQ 1ZZ", "PCRN 1ZZ", "SIQQ 1ZZ", "STHL 1ZZ", "TDCU 1ZZ",
    "TKCA 1ZZ", "GX11 1AA", "ASCN 1AA", "STHL 2ZZ", "BFPO 805", "bfpo805", "BFPO 1", "BFPO 1234", "BFPO 12345",
    "BFPO", "BFPO A1", "KY1-1001", "VG1110", "MSR 1110", "AI-2640", "SAN TA1", "M60 1NW", "ME1 1AA", "SW10 9XX",
]  # fmt: skip
ADDRESSES = [
    "10 Downing Street", "", "  ", "Flat 2\n10 Downing St", "Flat 2\r\n10 Downing St", "Flat 2\r10 Downing St",
    "\n\n10 Downing St\n\n", "10 Downing\tSt", "10 Downing\x00St", "10 Downing\x7fSt", "10 Downing\x85St",
    "10 Downing\u2028St", "10 Downing\u2029St", "10 Downing\x0bSt", "10 Downing\x0cSt", "a" * 500, "a" * 501,
    "a" * 498 + "\r\n" + "a", "a" * 499 + "\r\n" + "a", "\r\n" + "a" * 500 + "\r\n", "\u3000\u300010 Downing St\u3000",
    "\x1c10 Downing St\x1c", "10 Downing \x1c St", "😀" * 500, "😀" * 501, "\ufeff10 Downing St", "\u00a0",
    "1 Rue de l'Église", "10 Downing St\x9b", "\r", "\n", "\r\n\r\n",
]  # fmt: skip

CASES = (
    [{"firstName": v} for v in NAMES]
    + [{"lastName": v} for v in NAMES]
    + [{"email": v} for v in EMAILS]
    + [{"phone": v} for v in PHONES]
    + [{"postcode": v} for v in POSTCODES]
    + [{"address": v} for v in ADDRESSES]
    + [{key: "" for key in VALID}, {key: " \u00a0\r\n" for key in VALID}, {"email": "x", "phone": "x", "postcode": "x", "address": "\x00"}]
)
TABLE = [{"values": {**VALID, **change}, "addressRequired": required} for change in CASES for required in (True, False)]


def in_python(case: dict) -> list[dict]:
    v = case["values"]
    found = validate_contact(v["firstName"], v["lastName"], v["email"], v["phone"], v["postcode"], v["address"], address_required=case["addressRequired"])
    return [{"field": f.field, "description": f.description} for f in found]


def in_the_browser(page, table: list[dict]) -> list[list[dict]]:
    return page.evaluate(
        """async (table) => {
            const { validateContact } = await import("/validation.js");
            return table.map((c) => validateContact(c.values, { addressRequired: c.addressRequired }));
        }""",
        table,
    )


def test_the_page_and_the_server_judge_contact_details_alike(page):
    page.goto("/")
    browser = in_the_browser(page, TABLE)
    disagreements = [
        f"{case!r}\n  server: {server}\n  page:   {client}"
        for case, client in zip(TABLE, browser, strict=True)
        if (server := in_python(case)) != client
    ]
    assert not disagreements, f"{len(disagreements)} of {len(TABLE)} cases differ:\n" + "\n".join(disagreements)


@pytest.mark.parametrize("field", list(VALID))
def test_the_table_holds_valid_and_invalid_values_of_every_field(field):
    """A table where every input passes (or every input fails) would prove nothing."""
    verdicts = {bool(in_python({"values": {**VALID, **change}, "addressRequired": True})) for change in CASES if list(change) == [field]}
    assert verdicts == {True, False}


def test_the_page_shows_postcodes_and_phones_as_the_server_stores_them(page):
    page.goto("/")
    postcodes = [p for p in POSTCODES if is_uk_postcode(p)]
    phones = [p for p in PHONES if is_uk_phone(p)]
    browser = page.evaluate(
        """async ([postcodes, phones]) => {
            const v = await import("/validation.js");
            return [postcodes.map(v.normaliseUkPostcode), phones.map(v.normaliseUkPhone)];
        }""",
        [postcodes, phones],
    )
    assert browser == [[normalise_uk_postcode(p) for p in postcodes], [normalise_uk_phone(p) for p in phones]]
