"""Contact details as a UK retailer needs them: one set of rules for bookings and brochures.

Violations name fields as the REST contract spells them (`firstName`, `email`, ...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from appointment_svc.domain.errors import FieldViolation, ValidationFailed
from appointment_svc.domain.postcodes import is_uk_postcode, normalise_uk_postcode

NAME_MAX = 100
ADDRESS_MAX = 500
EMAIL_MAX = 254

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    rf"@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))$"
)
# After normalising +44 / 0044 / (0) to a leading 0 (Ofcom numbering): 01 landlines have 10 or 11
# digits, 02/03/05/07/09 have 11, 08 has 10 (some 0800) or 11.
_UK_PHONE = re.compile(r"^(?:0[18][0-9]{8,9}|0[23579][0-9]{9})$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
# C0, DEL, C1 (which includes U+0085 NEL) and the Unicode line and paragraph separators: any of
# them can end a line in some consumer (.ics parsers, mail headers, log viewers).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_EXCEPT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAK = re.compile(r"\r\n?")
_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def raise_if_invalid(violations: list[FieldViolation]) -> None:
    """Refuse a request with all of its problems at once, naming each field once."""
    if violations:
        names = ", ".join(dict.fromkeys(v.field for v in violations))
        raise ValidationFailed(violations, f"Please check these fields: {names}.")


def has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """True when `value` holds a character that could break a line, a header or a calendar property.

    With `allow_newlines`, `\n`, `\r\n` and a lone `\r` are allowed (normalise_newlines makes them `\n`).
    """
    if allow_newlines:
        return bool(_CONTROL_EXCEPT_NEWLINE.search(normalise_newlines(value)))
    return bool(_CONTROL.search(value))


def normalise_newlines(value: str) -> str:
    """`\r\n` and a lone `\r` become `\n`: one kind of line break in stored multi-line text."""
    return _LINE_BREAK.sub("\n", value)


def normalise_email(value: str) -> str:
    """The identity of an address for lookups: surrounding spaces and case ignored."""
    return value.strip().lower()


def canonical_email(value: str) -> str:
    """The mailbox an address delivers to, for per-recipient limits: `Jane.Doe+x@GoogleMail.com`
    and `janedoe@gmail.com` are one mailbox.

    Lower case; a `+tag` is dropped for every domain (sub-addressing is near universal, and
    over-counting a rare mailbox whose name holds `+` only limits it sooner); Gmail ignores dots
    in the local part and treats googlemail.com as gmail.com.
    """
    local, at, domain = normalise_email(value).rpartition("@")
    if not at:
        return normalise_email(value)
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def is_email(value: str) -> bool:
    value = value.strip()
    match = _EMAIL.match(value)
    return bool(match) and len(value) <= EMAIL_MAX and len(match.group("local")) <= 64


def normalise_uk_phone(value: str) -> str:
    """`+44 (0)7700 900-123` → `07700900123`; the caller validates first."""
    compact = _PHONE_PUNCTUATION.sub("", value.replace("(0)", ""))
    for international in ("+44", "0044"):
        if compact.startswith(international):
            rest = compact[len(international):]
            compact = rest if rest.startswith("0") else "0" + rest
    return compact


def is_uk_phone(value: str) -> bool:
    return bool(_UK_PHONE.match(normalise_uk_phone(value)))


def _text(
    value: str, field: str, label: str, max_length: int, required: bool, out: list[FieldViolation], *, multiline=False
) -> None:
    stripped = normalise_newlines(value).strip() if multiline else value.strip()
    if not stripped:
        if required:
            out.append(FieldViolation(field, f"{label} is required"))
        return
    if len(stripped) > max_length:
        out.append(FieldViolation(field, f"{label} must be at most {max_length} characters"))
    elif has_control_characters(stripped, allow_newlines=multiline):
        out.append(FieldViolation(field, f"{label} must not contain control characters"))


def validate_contact(
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    postcode: str,
    address: str,
    *,
    address_required: bool,
) -> list[FieldViolation]:
    """Every problem with a set of contact details (empty when they are fine)."""
    violations: list[FieldViolation] = []
    _text(first_name, "firstName", "First name", NAME_MAX, True, violations)
    _text(last_name, "lastName", "Last name", NAME_MAX, True, violations)
    if not email.strip():
        violations.append(FieldViolation("email", "Email is required"))
    elif not is_email(email):
        violations.append(FieldViolation("email", "Email must be a valid email address, e.g. jane@example.co.uk"))
    if not phone.strip():
        violations.append(FieldViolation("phone", "Phone is required"))
    elif not is_uk_phone(phone):
        violations.append(FieldViolation("phone", "Phone must be a UK phone number, e.g. 07700 900123"))
    if not postcode.strip():
        violations.append(FieldViolation("postcode", "Postcode is required"))
    elif not is_uk_postcode(postcode):
        violations.append(FieldViolation("postcode", "Postcode must be a full UK postcode, e.g. SW1A 1AA"))
    _text(address, "address", "Address", ADDRESS_MAX, address_required, violations, multiline=True)
    return violations


@dataclass(frozen=True)
class Contact:
    """Validated contact details in their stored form."""

    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str


def clean_contact(first_name: str, last_name: str, email: str, phone: str, postcode: str, address: str) -> Contact:
    """Canonical form of details that passed `validate_contact`: trimmed, postcode `SW1A 1AA`,
    phone digits only, line breaks of the address `\n`. The email keeps its case (the local part
    may be case-sensitive); compare addresses with `normalise_email` or `canonical_email`."""
    return Contact(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        phone=normalise_uk_phone(phone),
        postcode=normalise_uk_postcode(postcode),
        address=normalise_newlines(address).strip(),
    )
