"""The code the SDK gives a new contact: from its name alone, short, distinct, and stable."""

from __future__ import annotations

import pytest

from kashflow_sync._engine.contacts import CODE_MAX, CODE_VARIANTS, contact_code

#: Codes of names as every version of the SDK since issue 25 gives them. Changing the recipe
#: would let two versions running side by side (a rolling deploy) create one contact twice.
PINNED = {
    "Acme Papr Ltd": "ACMEPWM7YZ",
    "The Print Shop": "THEPRFY63B",
    "Café Zoë": "CAFEZXQAX2",
    "北京": "NEWOS2RH",
}


@pytest.mark.parametrize(("name", "code"), PINNED.items())
def test_codes_are_pinned(name: str, code: str) -> None:
    """The recipe does not drift: the same name has the same code in every release."""
    assert contact_code(name) == code


def test_names_that_read_the_same_share_a_code() -> None:
    """Case, space runs and invisible characters do not change the code (they share one key)."""
    assert contact_code("The  print SHOP\u200b") == contact_code("The Print Shop")


@pytest.mark.parametrize(
    "name", ["A", "Ünïcödé GmbH", "🚀 Rockets", "x" * 255, "The Print Shop", "   spaced   "]
)
def test_codes_are_short_upper_case_letters_and_digits(name: str) -> None:
    """At most CODE_MAX characters of A-Z and 0-9, for any name, in every variant."""
    for variant in range(CODE_VARIANTS):
        code = contact_code(name, variant)
        assert 0 < len(code) <= CODE_MAX
        assert code.isascii() and code.isalnum() and code == code.upper()


def test_the_second_code_differs_from_the_first() -> None:
    """The fallback for a collision is another code, not the same one again."""
    assert contact_code("The Print Shop", 1) != contact_code("The Print Shop")


def test_two_thousand_names_sharing_a_stem_get_distinct_codes() -> None:
    """The whole name counts: names sharing far more than the stem still differ."""
    names = [f"The Supplies Company {n:04d} Ltd" for n in range(2000)]
    codes = {contact_code(n) for n in names}
    assert len(codes) == len(names)
    assert all(c.startswith("THESU") for c in codes)
