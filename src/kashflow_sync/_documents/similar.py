"""Whether a new supplier or customer name is a near-miss of an existing one.

A bookkeeper reading ``Acme Papr Ltd`` beside ``Acme Paper Ltd`` sees one business, mistyped;
reading ``Unit 4 Ltd`` beside ``Unit 5 Ltd``, or ``The Print Shop`` beside ``The Coffee Shop``,
sees two. This module writes that judgement down as a rule over a canonical form of each name.

**Canonical form** (:func:`canonical`). The :func:`~.names.skeleton` (Unicode
compatibility forms, invisible characters, spacing, case, look-alike letters of other
scripts), then: accents dropped (``Café`` reads ``cafe``); ``&`` and ``+`` read as ``and``;
apostrophes and dots dropped (``O'Brien``, ``St.``, ``L.L.P.``); any other punctuation a space;
a few spellings folded (``limited`` -> ``ltd``, ``company`` -> ``co``, ``brothers`` -> ``bros``,
``saint`` -> ``st``...); ``and`` everywhere, a leading ``the`` and a trailing legal form
(``Ltd``, ``PLC``, ``LLP``, ``& Co``, ``Inc``...) set aside. What is left are the name's
*words*; its *numbers* are every run of digits in it.

**The rule** (:func:`similar`). Two names whose numbers differ are different contacts, always.
Otherwise they are similar when their words

1. are the same once written together (``Acme Paper Limited``, ``ACME-PAPER``,
   ``The Acme Paper Co.``, ``AcmePaper``);
2. are the same words in another order;
3. differ by typos: as many words, each pair equal or within one edit (words of 4 to 7
   letters) or two (8 or more), two edits at most in all; words of 3 letters or fewer must be
   equal (``B&Q`` is not ``B&M``, ``Tom`` is not ``Tim``). An edit is a letter inserted,
   dropped, replaced, or two neighbours swapped (optimal string alignment distance);
4. differ by one word added or dropped, other than the first (``Acme Paper`` and ``Acme``,
   ``Costa`` and ``Costa Coffee``; not ``Print Shop`` and ``Shop``).

Why this rule and not a single score: a similarity ratio over the whole name cannot tell a typo
(one letter in ``Papr``) from a different business that shares most of its letters
(``North West Plumbing`` / ``North East Plumbing``: two letters of one short word), and it
reads ``Unit 4`` and ``Unit 5`` as nearly equal. Word-level edits with a tolerance that grows
with the word's length do, and the number rule is exact.

**Speed** (:class:`NameIndex`). Rules 1, 2 and 4 are dictionary look-ups (each name indexed by
its joined words, its sorted words, and its words less one). Rule 3 first asks RapidFuzz for
the names within two edits of the whole text (a C loop over the names of as many words and a
length within two characters: a name within two edits word by word is within two edits as a
whole), then checks those few word by word. ``benchmarks/bench_contacts.py`` measures it on
20,000 suppliers.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import attrs
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .names import name_key, skeleton

__all__ = ["Canonical", "NameIndex", "canonical", "similar"]

#: Apostrophes and dots are dropped without a trace (``O'Brien`` is ``OBrien``, ``L.L.P.`` is
#: ``LLP``); ``&`` and ``+`` read as ``and``.
_FOLD: dict[int, str | None] = {
    **dict.fromkeys(map(ord, "'\u2018\u2019\u02bc`.\u00b7")),
    ord("&"): " and ",
    ord("+"): " and ",
}
#: Anything but letters and digits separates words.
_SEPARATORS = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")

#: Spellings of one word, folded to one.
_SYNONYMS = {
    "limited": "ltd",
    "company": "co",
    "brothers": "bros",
    "saint": "st",
    "incorporated": "inc",
    "corporation": "corp",
    "international": "intl",
}
#: Legal forms, set aside at the end of a name: ``Acme Paper Ltd`` and ``Acme Paper PLC`` are
#: one business to ask about, not two new ones.
_LEGAL_FORMS = frozenset(
    {"ltd", "plc", "llp", "lp", "llc", "inc", "corp", "co", "cic", "gmbh", "bv", "sarl", "pty"}
)

#: Edits allowed in one word, by its length: none up to 3 letters, 1 up to 7, then 2.
_SHORT_WORD = 3
_MEDIUM_WORD = 7
#: Edits allowed in all the words of a name (rule 3).
MAX_EDITS = 2


@attrs.frozen
class Canonical:
    """A name as the rule compares it: its words and its numbers."""

    words: tuple[str, ...]
    numbers: tuple[str, ...]

    @property
    def joined(self) -> str:
        """The words written together (rule 1)."""
        return "".join(self.words)

    @property
    def spaced(self) -> str:
        """The words with a space between (what rule 3's first pass compares)."""
        return " ".join(self.words)


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _number(digits: str) -> str:
    # Unicode digits (Arabic-Indic...) too: int() reads every decimal digit.
    return str(int(digits))


#: Names seen lately, canonical: a list reloaded after a change holds the same names, so its
#: index is rebuilt from here rather than from scratch (about 64k names: a few MB).
_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=_CACHE_SIZE)
def canonical(name: str) -> Canonical:
    """The words and numbers of *name* as :func:`similar` compares them (module docstring)."""
    text = _strip_accents(skeleton(name)).translate(_FOLD)
    if _DIGITS.search(text):
        text = _DIGITS.sub(lambda m: _number(m.group()), text)
    tokens = [_SYNONYMS.get(t, t) for t in _SEPARATORS.split(text) if t]
    named = [t for t in tokens if t != "and"]
    if len(named) > 1 and named[0] == "the":
        named = named[1:]
    words = list(named)
    while words and words[-1] in _LEGAL_FORMS:
        words.pop()
    if not words:
        # A name of nothing but legal forms ("The Company Ltd"): they are its words.
        words = named or tokens
    numbers = tuple(sorted(_DIGITS.findall(text)))
    return Canonical(tuple(words), numbers)


def _word_edits_allowed(a: str, b: str) -> int:
    longer = max(len(a), len(b))
    if longer <= _SHORT_WORD:
        return 0
    return 1 if longer <= _MEDIUM_WORD else 2


def _typos_only(a: Sequence[str], b: Sequence[str]) -> bool:
    """Rule 3: as many words, each within its own tolerance, two edits at most in all."""
    if len(a) != len(b):
        return False
    total = 0
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        edits = OSA.distance(x, y, score_cutoff=MAX_EDITS)
        if edits > _word_edits_allowed(x, y):
            return False
        total += edits
        if total > MAX_EDITS:
            return False
    return total > 0


def _one_word_more(shorter: Sequence[str], longer: Sequence[str]) -> bool:
    """Rule 4: *longer* is *shorter* with one word added, not before the first."""
    if len(longer) != len(shorter) + 1 or not shorter:
        return False
    return any(
        tuple(longer[:i]) + tuple(longer[i + 1 :]) == tuple(shorter) for i in range(1, len(longer))
    )


def similar(a: Canonical, b: Canonical) -> bool:
    """Whether two canonical names are near-misses of each other (the rule above).

    Two equal canonical forms are similar too (rule 1): callers look for exact matches first.
    """
    if a.numbers != b.numbers or not a.words or not b.words:
        return False
    return (
        a.joined == b.joined
        or sorted(a.words) == sorted(b.words)
        or _typos_only(a.words, b.words)
        or _one_word_more(a.words, b.words)
        or _one_word_more(b.words, a.words)
    )


T = TypeVar("T")


def _drop_one(words: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    """*words* less one word, never the first (rule 4's keys)."""
    for i in range(1, len(words)):
        yield words[:i] + words[i + 1 :]


class NameIndex(Generic[T]):
    """Named values (suppliers, customers) indexed for :meth:`similar` look-ups.

    Built once per list (the lists are immutable between syncs); a look-up costs a few
    dictionary reads and one RapidFuzz pass over the names with as many words.
    """

    __slots__ = (
        "_by_drop",
        "_by_joined",
        "_by_sorted",
        "_by_words",
        "_entries",
        "_keys",
        "_spaced",
    )

    def __init__(self, named: Iterable[tuple[str, T]]) -> None:
        """Index each ``(name, value)`` of *named*."""
        self._entries: list[tuple[str, Canonical, T]] = []
        self._by_joined: dict[str, list[int]] = {}
        self._by_sorted: dict[tuple[str, ...], list[int]] = {}
        self._by_words: dict[tuple[str, ...], list[int]] = {}
        self._by_drop: dict[tuple[str, ...], list[int]] = {}
        # Per number of words and length: the spaced texts and their entries, for rule 3's
        # first pass (a text within two edits is at most two characters longer or shorter).
        self._spaced: dict[tuple[int, int], tuple[list[str], list[int]]] = {}
        self._keys: list[str] | None = None  # for closest(): built on first use
        self._add(named, shared=False)

    def extended(self, named: Iterable[tuple[str, T]]) -> NameIndex[T]:
        """A new index of this one's names and *named*'s, this one left as it is.

        What a list that only grew costs (a contact the SDK added): copies of the tables and
        the new names, instead of every name again.
        """
        grown: NameIndex[T] = NameIndex(())
        grown._entries = list(self._entries)
        grown._by_joined = dict(self._by_joined)
        grown._by_sorted = dict(self._by_sorted)
        grown._by_words = dict(self._by_words)
        grown._by_drop = dict(self._by_drop)
        grown._spaced = dict(self._spaced)
        grown._add(named, shared=True)
        return grown

    def _add(self, named: Iterable[tuple[str, T]], *, shared: bool) -> None:
        """Index *named* after the names already here.

        With *shared*, the tables' lists belong to another index too: a list that grows is
        replaced by a grown copy, never appended to.
        """

        def put(table: dict[Any, list[int]], key: Any, index: int) -> None:
            if shared:
                table[key] = [*table.get(key, ()), index]
            else:
                table.setdefault(key, []).append(index)

        for index, (name, value) in enumerate(named, start=len(self._entries)):
            canon = canonical(name)
            self._entries.append((name, canon, value))
            put(self._by_joined, canon.joined, index)
            put(self._by_sorted, tuple(sorted(canon.words)), index)
            put(self._by_words, canon.words, index)
            for fewer in _drop_one(canon.words):
                put(self._by_drop, fewer, index)
            bucket = (len(canon.words), len(canon.spaced))
            texts, indexes = self._spaced.get(bucket, ([], []))
            if shared:
                texts, indexes = [*texts, canon.spaced], [*indexes, index]
            else:
                texts.append(canon.spaced)
                indexes.append(index)
            self._spaced[bucket] = (texts, indexes)

    def __len__(self) -> int:
        """Number of names indexed."""
        return len(self._entries)

    def _candidates(self, query: Canonical) -> set[int]:
        found: set[int] = set()
        found.update(self._by_joined.get(query.joined, ()))
        found.update(self._by_sorted.get(tuple(sorted(query.words)), ()))
        found.update(self._by_drop.get(query.words, ()))
        for fewer in _drop_one(query.words):
            found.update(self._by_words.get(fewer, ()))
        size = len(query.spaced)
        for length in range(size - MAX_EDITS, size + MAX_EDITS + 1):
            texts, indexes = self._spaced.get((len(query.words), length), ([], []))
            if texts:
                hits = process.extract(
                    query.spaced, texts, scorer=OSA.distance, score_cutoff=MAX_EDITS, limit=None
                )
                found.update(indexes[position] for _text, _score, position in hits)
        return found

    def similar(self, name: str, *, limit: int = 3) -> list[T]:
        """Up to *limit* values whose names are near-misses of *name*, closest first.

        Closest means the highest RapidFuzz ratio between the two names' skeletons (case,
        spacing and look-alike letters aside), so ``Acme Paper Ltd`` comes before
        ``Acme Ltd`` for ``Acme Papr Ltd``.
        """
        query = canonical(name)
        if not query.words:
            return []
        matches = [
            self._entries[i] for i in self._candidates(query) if similar(query, self._entries[i][1])
        ]
        written = skeleton(name)
        matches.sort(key=lambda entry: (-fuzz.ratio(written, skeleton(entry[0])), entry[0]))
        return [value for _name, _canon, value in matches[:limit]]

    def closest(self, name: str, *, limit: int = 3) -> list[str]:
        """Up to *limit* names that read most like *name*, best first, for a "did you mean".

        Looser than :meth:`similar` (any name sharing most of its letters): RapidFuzz's ratio
        (difflib's measure, computed in C) of the :func:`~.names.name_key` of
        each, 60 or more, so unrelated names are not offered.
        """
        if self._keys is None:
            self._keys = [name_key(entry[0]) for entry in self._entries]
        hits = process.extract(
            name_key(name), self._keys, scorer=fuzz.ratio, score_cutoff=60, limit=limit * 4
        )
        names: dict[str, str] = {}
        for key, _score, position in hits:
            names.setdefault(key, self._entries[position][0])
        return list(names.values())[:limit]
