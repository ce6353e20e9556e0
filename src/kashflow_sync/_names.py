"""Matching names the way a person reads them: Unicode look-alikes are the same name.

Supplier and customer names arrive from OCR, e-mail and copy-and-paste with invisible
differences: a zero-width space, a non-breaking space, doubled spaces, another case. They are
the same contact, and :func:`name_key` makes them compare equal. A name spelled with letters
of another script that look like Latin ones (a Cyrillic A, U+0410, in "Acme") is not the same text,
but it is almost never a different business: :func:`skeleton` maps such letters to the Latin
ones they imitate, so validation can flag the look-alike instead of creating a new contact.
Near-misses and "did you mean" names are found in :mod:`kashflow_sync._similar`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = ["describe_characters", "lookalike_characters", "name_key", "skeleton"]

#: Characters with no width: never meant, always left by copy-and-paste or OCR.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACES = re.compile(r"\s+")

#: Cyrillic and Greek letters (casefolded) that look like a Latin letter, after Unicode's
#: confusables list (https://www.unicode.org/Public/security/latest/confusables.txt), kept to
#: the letters of the Latin alphabet that business names are written in.
_LOOKALIKES: Mapping[str, str] = {
    "\u0430": "a",  # CYRILLIC SMALL LETTER A
    "\u0432": "b",  # CYRILLIC SMALL LETTER VE
    "\u0435": "e",  # CYRILLIC SMALL LETTER IE
    "\u043a": "k",  # CYRILLIC SMALL LETTER KA
    "\u043c": "m",  # CYRILLIC SMALL LETTER EM
    "\u043d": "h",  # CYRILLIC SMALL LETTER EN
    "\u043e": "o",  # CYRILLIC SMALL LETTER O
    "\u0440": "p",  # CYRILLIC SMALL LETTER ER
    "\u0441": "c",  # CYRILLIC SMALL LETTER ES
    "\u0442": "t",  # CYRILLIC SMALL LETTER TE
    "\u0443": "y",  # CYRILLIC SMALL LETTER U
    "\u0445": "x",  # CYRILLIC SMALL LETTER HA
    "\u0456": "i",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "\u0458": "j",  # CYRILLIC SMALL LETTER JE
    "\u0455": "s",  # CYRILLIC SMALL LETTER DZE
    "\u051b": "q",  # CYRILLIC SMALL LETTER QA
    "\u051d": "w",  # CYRILLIC SMALL LETTER WE
    "\u04af": "y",  # CYRILLIC SMALL LETTER STRAIGHT U
    "\u03b1": "a",  # GREEK SMALL LETTER ALPHA
    "\u03b2": "b",  # GREEK SMALL LETTER BETA
    "\u03b5": "e",  # GREEK SMALL LETTER EPSILON
    "\u03b6": "z",  # GREEK SMALL LETTER ZETA
    "\u03b7": "h",  # GREEK SMALL LETTER ETA
    "\u03b9": "i",  # GREEK SMALL LETTER IOTA
    "\u03ba": "k",  # GREEK SMALL LETTER KAPPA
    "\u03bc": "m",  # GREEK SMALL LETTER MU
    "\u03bd": "n",  # GREEK SMALL LETTER NU
    "\u03bf": "o",  # GREEK SMALL LETTER OMICRON
    "\u03c1": "p",  # GREEK SMALL LETTER RHO
    "\u03c4": "t",  # GREEK SMALL LETTER TAU
    "\u03c5": "y",  # GREEK SMALL LETTER UPSILON
    "\u03c7": "x",  # GREEK SMALL LETTER CHI
}
_TO_LATIN = {ord(k): v for k, v in _LOOKALIKES.items()}


def name_key(text: str) -> str:
    r"""*text* as compared: NFKC, no zero-width characters, one space between words, casefolded.

    ``"Acme\u00a0Paper  Ltd\u200b"`` and ``"acme paper ltd"`` have the same key.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip().casefold()


def skeleton(text: str) -> str:
    """The :func:`name_key` of *text* with look-alike letters of other scripts made Latin."""
    return name_key(text).translate(_TO_LATIN)


def lookalike_characters(text: str) -> list[str]:
    """The characters of *text* that only look like Latin letters, in order, once each."""
    normal = unicodedata.normalize("NFKC", text)
    return list(dict.fromkeys(ch for ch in normal if ch.casefold() in _LOOKALIKES))


def describe_characters(characters: Iterable[str]) -> str:
    """Each character as ``'x' (U+0410 CYRILLIC CAPITAL LETTER A)``, joined with commas."""
    return ", ".join(
        f"'{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED')})" for ch in characters
    )
