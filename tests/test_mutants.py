"""The mutation check's table stays runnable: each snippet is in the code, once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mutants

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_plants_into_the_code_as_it_is(mutant: mutants.Mutant) -> None:
    """Its snippet is found exactly once and its covering test files exist."""
    text = (ROOT / mutant.path).read_text()
    assert mutants.planted(text, mutant) != text
    for test in mutant.tests:
        assert (ROOT / test.partition("::")[0]).is_file(), test


def test_a_snippet_no_longer_in_the_code_stops_the_check_naming_the_mutant() -> None:
    """A stale snippet is an error naming the mutant, never a silent 'caught' or 'missed'."""
    stale = dataclasses.replace(mutants.MUTANTS[0], find="this code is long gone")
    with pytest.raises(mutants.CannotRun, match=stale.name):
        mutants.planted((ROOT / stale.path).read_text(), stale)
