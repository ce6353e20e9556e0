"""Money arithmetic shared by rules, validation and publishing: one rounding policy.

KashFlow stores a line as ``Quantity`` x ``Rate`` (net per unit) plus a ``VatAmount``. It keeps
pennies for totals and, as far as clients have found, four decimal places for the unit rate.
Validation and the publisher both call these functions, so a line that validates is sent with
exactly the numbers validation checked.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ._documents import Line

__all__ = [
    "EXEMPT_VAT_RATE",
    "PENNY",
    "RATE_QUANTUM",
    "VAT_TOLERANCE",
    "has_pennies_only",
    "line_vat",
    "line_wire_values",
    "rate_is_exact",
    "unit_rate",
    "vat_from_rate",
]

#: Smallest money unit KashFlow keeps on totals.
PENNY = Decimal("0.01")
#: Precision of KashFlow's unit ``Rate`` (4 dp; unverified but what clients rely on).
RATE_QUANTUM = Decimal("0.0001")
#: KashFlow's "n/a" (exempt) VAT rate on a line.
EXEMPT_VAT_RATE = Decimal(-1)
#: How far a line's stated VAT may differ from net x rate: KashFlow rounds per line.
VAT_TOLERANCE = Decimal("0.01")

_ONE = Decimal(1)
_HUNDRED = Decimal(100)


def vat_from_rate(net: Decimal, rate: Decimal) -> Decimal:
    """VAT on *net* at *rate* percent, rounded half-up to the penny; 0 for exempt (-1).

    Args:
        net: the line's net amount.
        rate: percentage (20 means 20%); -1 means exempt / n-a.

    Returns:
        The VAT amount in pennies.

    """
    if rate == EXEMPT_VAT_RATE:
        return Decimal("0.00")
    return (net * rate / _HUNDRED).quantize(PENNY, rounding=ROUND_HALF_UP)


def has_pennies_only(amount: Decimal) -> bool:
    """True when *amount* has no more than two decimal places."""
    return amount == amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def unit_rate(net: Decimal, quantity: Decimal) -> Decimal:
    """The unit price KashFlow stores for a line: *net* itself when quantity is 1.

    Raises:
        ZeroDivisionError: when *quantity* is zero (validation reports ``zero_quantity``).

    """
    if quantity == _ONE:
        return net
    if quantity == 0:
        raise ZeroDivisionError("a line with quantity 0 has no unit rate")
    return (net / quantity).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def rate_is_exact(net: Decimal, quantity: Decimal) -> bool:
    """True when a 4-dp unit rate times *quantity*, rounded to pennies, gives *net* back."""
    if quantity == 0:
        return False
    rate = unit_rate(net, quantity)
    if rate != rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP):
        return False
    return (rate * quantity).quantize(PENNY, rounding=ROUND_HALF_UP) == net


def line_vat(line: Line) -> Decimal | None:
    """The line's VAT: as stated, else worked out from its VAT rate, else None."""
    if line.vat is not None:
        return line.vat
    if line.vat_rate is not None:
        return vat_from_rate(line.net, line.vat_rate)
    return None


def line_wire_values(line: Line) -> tuple[Decimal, Decimal, Decimal]:
    """Map a line to KashFlow's ``(Quantity, Rate, VatAmount)``, rounded as validation checks.

    Args:
        line: a line from a validated document.

    Returns:
        The quantity as given, the unit rate (4 dp half-up; the net itself when quantity is 1)
        and the VAT amount (stated, or worked out from the VAT rate).

    Raises:
        ValueError: the line has neither VAT nor a VAT rate, or a zero quantity; validate the
            document first.

    """
    vat = line_vat(line)
    if vat is None:
        raise ValueError("line has neither vat nor vat_rate; validate the document first")
    if line.quantity == 0:
        raise ValueError("line has quantity 0; validate the document first")
    return line.quantity, unit_rate(line.net, line.quantity), vat
