"""UK postcodes and the service areas of home visits (appointment_svc/domain/postcodes.py)."""
from __future__ import annotations

import pytest

from appointment_svc.domain.errors import FieldViolation
from appointment_svc.domain.postcodes import (
    MAX_AREAS,
    POSTCODE_AREAS,
    District,
    clean_service_areas,
    covers,
    is_service_area,
    is_uk_postcode,
    normalise_uk_postcode,
    outward_code,
    parse_district,
)


@pytest.mark.parametrize(
    "value, normalised",
    [
        ("sw1a1aa", "SW1A 1AA"), (" SW1A  1AA ", "SW1A 1AA"), ("m11ae", "M1 1AE"), ("M60 1NW", "M60 1NW"),
        ("cr26xh", "CR2 6XH"), ("DN551PT", "DN55 1PT"), ("w1a 0ax", "W1A 0AX"), ("ec1a1bb", "EC1A 1BB"),
        ("gir0aa", "GIR 0AA"), ("ascn1zz", "ASCN 1ZZ"), ("BBND 1ZZ", "BBND 1ZZ"), ("biqq1zz", "BIQQ 1ZZ"),
        ("FIQQ1ZZ", "FIQQ 1ZZ"), ("pcrn 1zz", "PCRN 1ZZ"), ("SIQQ 1ZZ", "SIQQ 1ZZ"), ("sthl1zz", "STHL 1ZZ"),
        ("TDCU 1ZZ", "TDCU 1ZZ"), ("tkca1zz", "TKCA 1ZZ"), ("gx111aa", "GX11 1AA"), ("bfpo805", "BFPO 805"),
        ("BFPO 1", "BFPO 1"), ("bfpo 1234", "BFPO 1234"), ("sw1a\t1aa", "SW1A 1AA"),
    ],
)  # fmt: skip
def test_valid_postcodes_are_normalised_upper_case_with_one_space(value, normalised):
    assert is_uk_postcode(value)
    assert normalise_uk_postcode(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "", "SW1A", "SW1A 1A", "SW1A 1AAA", "QA1 1AA", "VA1 1AA", "XA1 1AA", "AI1 1AA", "AJ1 1AA", "AZ1 1AA",
        "W1I 1AA", "EC1I 1AA", "SW1A 1CA", "SW1A 1AI", "SW1A 1AK", "SW1A 1AM", "SW1A 1AO", "SW1A 1AV", "GIR 1AA",
        "ASCN 1AA", "STHL 2ZZ", "ABCD 1ZZ", "BFPO", "BFPO 12345", "BFPO A1", "KY1-1001", "VG1110", "MSR 1110",
        "AI-2640", "SAN TA1", "SW1A-1AA", "12345",
    ],
)  # fmt: skip
def test_what_is_not_a_uk_postcode(value):
    assert not is_uk_postcode(value)


@pytest.mark.parametrize(
    "postcode, outward",
    [("SW1A 1AA", "SW1A"), ("M1 1AE", "M1"), ("M60 1NW", "M60"), ("GIR 0AA", "GIR"), ("BFPO 805", "BFPO"), ("ASCN 1ZZ", "ASCN")],
)
def test_the_outward_code_is_the_part_before_the_space(postcode, outward):
    assert outward_code(postcode) == outward


@pytest.mark.parametrize(
    "value, district",
    [
        ("M", District("M")), ("SW", District("SW")), ("M1", District("M", "1")), ("M60", District("M", "60")),
        ("SW1", District("SW", "1")), ("SW1A", District("SW", "1", "A")), ("SW10", District("SW", "10")),
        ("EC1A", District("EC", "1", "A")), ("W1A", District("W", "1", "A")),
        ("GIR", None), ("BFPO", None), ("ASCN", None), ("SW01", None),
        ("SW1AA", None), ("1", None), ("", None), ("SW 1", None), ("sw1", None), ("SW100", None),
    ],
)  # fmt: skip
def test_an_outward_code_splits_into_area_district_and_sub_district(value, district):
    assert parse_district(value) == district


# (area, outward code, covered?)
COVERAGE = [
    ("M", "M1", True), ("M", "M60", True), ("M", "M99", True), ("M", "ME1", False), ("M", "ME15", False),
    ("M", "MK9", False), ("ME", "M1", False), ("ME", "ME1", True), ("SW1", "SW1A", True), ("SW1", "SW1P", True),
    ("SW1", "SW1", True), ("SW1", "SW10", False), ("SW1", "SW19", False), ("SW1", "SW2", False), ("SW1", "S1", False),
    ("SW1A", "SW1A", True), ("SW1A", "SW1P", False), ("SW1A", "SW1", False), ("SW10", "SW10", True),
    ("SW10", "SW1", False), ("SW10", "SW1A", False), ("S", "SW1", False), ("S", "S1", True), ("S", "S10", True),
    ("E1", "E1W", True), ("E1W", "E1", False), ("E", "EC1A", False), ("EC", "E1", False), ("W1", "W1A", True),
    ("W1", "W11", False), ("W", "WC1", False), ("B", "BS1", False), ("B", "B33", True), ("M1", "M11", False),
    ("M1", "M1", True), ("M60", "M6", False), ("M6", "M60", False), ("SW", "SW1A", True), ("SW", "GIR", False),
    ("G", "GIR", False), ("B", "BFPO", False), ("A", "ASCN", False),
]  # fmt: skip


@pytest.mark.parametrize("area, outward, covered", COVERAGE)
def test_an_area_covers_outward_codes_at_structural_boundaries(area, outward, covered):
    assert covers([area], outward) is covered


def test_no_areas_covers_everywhere_even_the_special_postcodes():
    for outward in ("M1", "SW1A", "GIR", "BFPO", "ASCN", "ZE3"):
        assert covers([], outward)


def test_a_list_of_areas_covers_what_any_of_them_covers():
    areas = ["M", "SW1", "EC1A"]
    assert [covers(areas, o) for o in ("M4", "SW1P", "EC1A", "EC1M", "ME1", "SW10")] == [True, True, True, False, False, False]


@pytest.mark.parametrize("area", ["M", "SW", "SW1", "SW1A", "SW10", "M60", "EC1A", "W1A", "E1W", "BT1", "ZE3", "GY1", "JE2", "IM1", "B1", "N1C"])
def test_real_areas_districts_and_sub_districts_are_service_areas(area):
    assert is_service_area(area)


@pytest.mark.parametrize(
    "area",
    ["", "sw1", "SW 1", "X", "XX", "QA", "ZZ", "GIR", "BFPO", "ASCN", "SW01", "SW100", "SW1AA", "SW1Z", "W1I", "1", "SW1A1AA", "M-1"],
)
def test_what_is_not_a_service_area(area):
    assert not is_service_area(area)


def test_every_known_area_is_one_or_two_letters_and_there_are_124():
    assert len(POSTCODE_AREAS) == 124
    assert all(1 <= len(a) <= 2 and a.isalpha() and a.isupper() for a in POSTCODE_AREAS)


def test_areas_are_cleaned_upper_case_trimmed_and_deduplicated_in_order():
    violations: list[FieldViolation] = []
    assert clean_service_areas([" sw1 ", "M", "SW1", "m", "ec1a"], "postcodeAreas", violations) == ("SW1", "M", "EC1A")
    assert violations == []


def test_each_bad_area_is_reported_under_its_index():
    violations: list[FieldViolation] = []
    clean_service_areas(["M", "XX1", "SW1", ""], "postcodeAreas", violations)
    assert [v.field for v in violations] == ["postcodeAreas[1]", "postcodeAreas[3]"]


def test_too_many_areas_are_refused():
    violations: list[FieldViolation] = []
    many = [f"{a}{n}" for a in sorted(POSTCODE_AREAS) for n in range(1, 3)][: MAX_AREAS + 1]
    clean_service_areas(many, "postcodeAreas", violations)
    assert [v.field for v in violations] == ["postcodeAreas"]
