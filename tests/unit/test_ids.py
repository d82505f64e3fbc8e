import hashlib

import pytest

from include.ingest import ids

VALID = "11010519491231002X"  # the GB 11643 standard's own example


def test_check_digit_of_the_standard_example():
    assert ids.check_digit(VALID[:17]) == "X"


def test_validate_accepts_a_shangqiu_id():
    first17 = "41142219900101123"
    assert ids.validate(first17 + ids.check_digit(first17)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("4114221990010112", "18 characters expected, found 16"),
        ("41142219900101123A", "17 digits and a digit or X expected"),
        (VALID, "region prefix 4114xx expected, found 110105"),
        ("411422199001011230", "GB 11643 check digit does not match"),
    ],
)
def test_validate_names_what_is_wrong_without_echoing_the_id(value, problem):
    if problem.startswith("GB") and ids.check_digit(value[:17]) == value[17]:
        pytest.skip("constructed value happens to be valid")
    found = ids.validate(value)
    assert found == problem
    assert value not in found


def test_pseudonym_is_keyed_not_a_plain_hash():
    first17 = "41142219900101123"
    value = first17 + ids.check_digit(first17)
    one = ids.pseudonymise(value, b"key-one")
    two = ids.pseudonymise(value, b"key-two")
    assert one.key != two.key
    assert one.key != hashlib.sha256(value.encode()).hexdigest()
    assert one == ids.pseudonymise(value.lower(), b"key-one")
    assert (one.birth_year, one.sex, one.region) == (1990, "M", "411422")
