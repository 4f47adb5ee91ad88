"""UK postcodes: validating, normalising, and the service areas of home visits.

A postcode is an outward code (`SW1A`: area letters `SW`, district `1`, sub-district `A`) and an
inward code (`1AA`). A consultant's service area is a prefix of the outward code at a structural
boundary: an area (`M`), a district (`SW1`) or a sub-district (`SW1A`). `M` covers `M1` and `M60`
but not `ME1` (ME is another area); `SW1` covers `SW1A` and `SW1P` (its sub-districts) but not
`SW10` (another district). A plain string prefix would get both of those wrong.

web/validation.js carries the same validation and normalising rules for the page
(tests/e2e/browser/test_validation_parity.py holds the two together).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from appointment_svc.domain.errors import FieldViolation

# Royal Mail's formats (A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA) with the letters each
# position may hold; the special postcodes in the same shape: GIR 0AA (Girobank) and the British
# Overseas Territories' single codes (Ascension, British Indian Ocean Territory, British Antarctic
# Territory, Falklands, Pitcairn, South Georgia, St Helena, Tristan da Cunha, Turks and Caicos;
# Gibraltar's GX11 1AA already fits the regular shape); and BFPO numbers (1 to 4 digits) of the
# British Forces Post Office. The territories' own non-Royal-Mail codes (KY1-1001, VG1110,
# MSR 1110, AI-2640) are not UK postcodes and are refused.
_POSTCODE = re.compile(
    r"^(?:GIR0AA|(?:ASCN|BBND|BIQQ|FIQQ|PCRN|SIQQ|STHL|TDCU|TKCA)1ZZ|BFPO[0-9]{1,4}|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_BFPO = "BFPO"
_SPACES = re.compile(r"\s+")

# The postcode areas of the United Kingdom (121, Northern Ireland's BT included) and of the Crown
# dependencies that use the same system (GY, JE, IM). A service area must start with one of them.
POSTCODE_AREAS = frozenset(
    """AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY
    E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL
    LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN
    SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE""".split()
)
MAX_AREAS = 200
_OUTWARD = re.compile(r"^(?P<area>[A-Z]{1,2})(?:(?P<district>[0-9]|[1-9][0-9])(?P<sub>[A-Z])?)?$")


def _compact(value: str) -> str:
    return _SPACES.sub("", value).upper()


def is_uk_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(_compact(value)))


def normalise_uk_postcode(value: str) -> str:
    """`sw1a1aa` → `SW1A 1AA`, `bfpo805` → `BFPO 805`; the caller validates first."""
    compact = _compact(value)
    if compact.startswith(_BFPO):
        return f"{_BFPO} {compact[len(_BFPO):]}"
    return f"{compact[:-3]} {compact[-3:]}"


def outward_code(postcode: str) -> str:
    """The part before the space of a normalised postcode: `SW1A`, `M60`, `GIR`, `BFPO`."""
    return postcode.split(" ", 1)[0]


@dataclass(frozen=True)
class District:
    """An outward code, or a prefix of one at a structural boundary: district and sub are '' when absent."""

    area: str
    district: str = ""
    sub: str = ""

    def covers(self, other: District) -> bool:
        """True when every postcode of `other` lies inside self (self is the same place or a wider one)."""
        if self.area != other.area:
            return False
        if not self.district:
            return True
        return self.district == other.district and (not self.sub or self.sub == other.sub)

    def __str__(self) -> str:
        return f"{self.area}{self.district}{self.sub}"


def parse_district(value: str) -> District | None:
    """`SW1A` → District(SW, 1, A); None for what is not an area, district or sub-district
    (the special outward codes GIR, BFPO, ASCN, ... included: they belong to no area)."""
    match = _OUTWARD.match(value)
    if match is None:
        return None
    return District(match["area"], match["district"] or "", match["sub"] or "")


def is_service_area(value: str) -> bool:
    """An upper-case area (`M`), district (`SW1`, `M60`) or sub-district (`SW1A`) of a real postcode area."""
    district = parse_district(value)
    if district is None or district.area not in POSTCODE_AREAS:
        return False
    # A district is real in shape when some postcode has it as its outward code.
    return not district.district or is_uk_postcode(f"{value}1AA")


def covers(areas: Iterable[str], outward: str) -> bool:
    """Whether a consultant with these service areas visits postcodes of this outward code.

    No areas: everywhere (consultants from before service areas keep taking every booking).
    With areas, a special outward code (GIR, BFPO, an overseas territory) is covered by none."""
    areas = tuple(areas)
    if not areas:
        return True
    place = parse_district(outward)
    if place is None:
        return False
    return any(district.covers(place) for district in map(parse_district, areas) if district is not None)


def clean_service_areas(values: Iterable[str], field: str, violations: list[FieldViolation]) -> tuple[str, ...]:
    """Upper-cased, trimmed and deduplicated areas in the order given; each bad one reported."""
    cleaned: dict[str, None] = {}
    for index, raw in enumerate(values):
        value = raw.strip().upper()
        if not is_service_area(value):
            violations.append(
                FieldViolation(f"{field}[{index}]", "must be a UK postcode area, district or sub-district, e.g. M, SW1 or SW1A")
            )
        else:
            cleaned[value] = None
    if len(cleaned) > MAX_AREAS:
        violations.append(FieldViolation(field, f"at most {MAX_AREAS} areas"))
    return tuple(cleaned)
