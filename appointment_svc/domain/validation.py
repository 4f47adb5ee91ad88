"""Contact details as a UK retailer needs them: one set of rules for bookings and brochures.

Violations name fields as the REST contract spells them (`firstName`, `email`, ...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from appointment_svc.domain.errors import FieldViolation

NAME_MAX = 100
ADDRESS_MAX = 500
EMAIL_MAX = 254

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    rf"@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))$"
)
# Royal Mail's postcode formats (A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA) plus GIR 0AA,
# with the letters each position may hold.
_POSTCODE = re.compile(
    r"^(?:GIR0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)
# After normalising +44 / 0044 / (0) to a leading 0 (Ofcom numbering): 01 landlines have 10 or 11
# digits, 02/03/05/07/09 have 11, 08 has 10 (some 0800) or 11.
_UK_PHONE = re.compile(r"^(?:0[18][0-9]{8,9}|0[23579][0-9]{9})$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_email(value: str) -> str:
    """The identity of an address for limits and lookups: surrounding spaces and case ignored."""
    return value.strip().lower()


def is_email(value: str) -> bool:
    value = value.strip()
    match = _EMAIL.match(value)
    return bool(match) and len(value) <= EMAIL_MAX and len(match.group("local")) <= 64


def normalise_uk_postcode(value: str) -> str:
    """`sw1a1aa` → `SW1A 1AA`; the caller validates first."""
    compact = re.sub(r"\s+", "", value).upper()
    return f"{compact[:-3]} {compact[-3:]}"


def is_uk_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(re.sub(r"\s+", "", value).upper()))


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
    stripped = value.strip()
    if not stripped:
        if required:
            out.append(FieldViolation(field, f"{label} is required"))
        return
    if len(stripped) > max_length:
        out.append(FieldViolation(field, f"{label} must be at most {max_length} characters"))
    elif (_CONTROL_EXCEPT_LINES if multiline else _CONTROL).search(stripped):
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
    phone digits only. The email keeps its case (the local part may be case-sensitive); compare
    addresses with `normalise_email`."""
    return Contact(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        phone=normalise_uk_phone(phone),
        postcode=normalise_uk_postcode(postcode),
        address=address.strip(),
    )
