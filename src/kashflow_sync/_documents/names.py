"""Matching names the way a person reads them: Unicode look-alikes are the same name.

Supplier and customer names arrive from OCR, e-mail and copy-and-paste with invisible
differences: a zero-width space, a non-breaking space, doubled spaces, another case. They are
the same contact, and :func:`name_key` makes them compare equal, as it does names that differ
only by bidirectional controls (invisible, they reorder how the text is shown). Validation
refuses those, and C1 controls, in names and references before anything is written: a contact
created with one would look identical to another (:func:`hidden_characters`). A name spelled
with letters of another script that look like Latin ones (a Cyrillic A, U+0410, in "Acme") is
not the same text, but it is almost never a different business: :func:`skeleton` maps such
letters to the Latin ones they imitate, so validation can flag the look-alike instead of
creating a new contact. Near-misses and "did you mean" names are found in
:mod:`kashflow_sync._documents.similar`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = [
    "BIDI_CONTROLS",
    "C1_CONTROLS",
    "ZERO_WIDTH",
    "describe_characters",
    "hidden_characters",
    "lookalike_characters",
    "name_key",
    "skeleton",
]

#: Characters with no width: never meant, always left by copy-and-paste or OCR.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
#: Unicode's bidirectional controls (the Bidi_Control property): invisible, yet they reorder
#: the text around them, so ``"Acme Paper Ltd\u202e"`` shows as ``"Acme Paper Ltd"`` and
#: ``"\u202eLtd"`` as ``"dtL"``. Pasted from web pages and PDFs of right-to-left text, or planted.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: The C1 control characters, U+0080 to U+009F: never text, only bytes of Windows-1252 (curly
#: quotes, the euro sign) decoded as Latin-1, shown as nothing or as boxes.
C1_CONTROLS = frozenset(map(chr, range(0x80, 0xA0)))
# Matching drops what cannot be seen: the same name with a bidi control is the same contact.
_INVISIBLE = dict.fromkeys(map(ord, ZERO_WIDTH | BIDI_CONTROLS))
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
    r"""*text* as compared: NFKC, no invisible characters, one space between words, casefolded.

    ``"Acme\u00a0Paper  Ltd\u200b"``, ``"Acme Paper Ltd\u202e"`` and ``"acme paper ltd"`` have
    the same key: zero-width characters and bidirectional controls are dropped.
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


def hidden_characters(text: str, hidden: frozenset[str]) -> list[str]:
    """The characters of *text* that are in *hidden*, in order, once each.

    Args:
        text: the text to look through.
        hidden: the characters to find, e.g. ``BIDI_CONTROLS | C1_CONTROLS``.

    """
    return list(dict.fromkeys(ch for ch in text if ch in hidden))


def describe_characters(characters: Iterable[str]) -> str:
    """Each character as ``'x' (U+0410 CYRILLIC CAPITAL LETTER A)``, joined with commas.

    Invisible and control characters are named without being shown (a bidi control written
    into a message would reorder the message itself): ``U+202E RIGHT-TO-LEFT OVERRIDE``.
    """
    return ", ".join(_describe(ch) for ch in characters)


def _describe(ch: str) -> str:
    if unicodedata.category(ch) in ("Cc", "Cf"):
        kind = "C1 CONTROL CHARACTER" if ch in C1_CONTROLS else "CONTROL CHARACTER"
        return f"U+{ord(ch):04X} {unicodedata.name(ch, kind)}"
    return f"'{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED')})"
