"""Money arithmetic shared by rules, validation and publishing: one rounding policy.

KashFlow stores a line as ``Quantity`` x ``Rate`` (net per unit) plus a ``VatAmount``. It keeps
pennies for totals; how many decimals of the unit rate it keeps is not confirmed (public
clients report 4 and 2). So a line goes with its quantity only when ``Quantity x Rate`` is the
line's net *exactly* at a precision KashFlow surely keeps (:data:`SAFE_RATE_DECIMALS`, or what
``kashflow-sync doctor`` learned for the account); otherwise it goes as quantity 1 at the net,
the quantity written into the description. The ledger then holds the document's net to the
penny under every reading. Validation and the publisher both call these functions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import attrs

from .model import Line

__all__ = [
    "EXEMPT_VAT_RATE",
    "PENNY",
    "RATE_QUANTUM",
    "SAFE_RATE_DECIMALS",
    "VAT_TOLERANCE",
    "WireLine",
    "has_pennies_only",
    "line_vat",
    "line_wire_values",
    "unit_rate",
    "vat_from_rate",
]

#: Smallest money unit KashFlow keeps on totals.
PENNY = Decimal("0.01")
#: The finest unit rate the SDK ever computes (4 dp, the most any client reports KashFlow keeps).
RATE_QUANTUM = Decimal("0.0001")
#: Decimals of a unit rate KashFlow keeps under every reading: 2 (a 2-dp rate is kept whole
#: whether KashFlow keeps 2 or 4). Used unless doctor learned the account keeps more.
SAFE_RATE_DECIMALS = 2
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


def unit_rate(net: Decimal, quantity: Decimal, quantum: Decimal = RATE_QUANTUM) -> Decimal:
    """The unit price KashFlow stores for a line, to *quantum*: *net* itself when quantity is 1.

    Raises:
        ZeroDivisionError: when *quantity* is zero (validation reports ``zero_quantity``).

    """
    if quantity == _ONE:
        return net
    if quantity == 0:
        raise ZeroDivisionError("a line with quantity 0 has no unit rate")
    return (net / quantity).quantize(quantum, rounding=ROUND_HALF_UP)


def line_vat(line: Line) -> Decimal | None:
    """The line's VAT: as stated, else worked out from its VAT rate, else None."""
    if line.vat is not None:
        return line.vat
    if line.vat_rate is not None:
        return vat_from_rate(line.net, line.vat_rate)
    return None


@attrs.frozen
class WireLine:
    """What a line becomes on the wire: ``Quantity``, ``Rate``, ``VatAmount``, ``Description``."""

    quantity: Decimal
    rate: Decimal
    vat: Decimal
    description: str


def line_wire_values(line: Line, rate_decimals: int = SAFE_RATE_DECIMALS) -> WireLine:
    """Map a line to what KashFlow is sent, so that KashFlow's net is the line's net exactly.

    Args:
        line: a line from a validated document.
        rate_decimals: decimals of the unit rate the account is known to keep
            (:data:`SAFE_RATE_DECIMALS` unless doctor learned more; at most 4).

    Returns:
        The line's quantity and unit rate when ``quantity x rate`` is its net exactly at that
        precision; otherwise quantity 1 at the net, with ``"(3 x 33.3333)"`` added to the
        description so the quantity stays visible in KashFlow. The VAT is as stated, or worked
        out from the VAT rate.

    Raises:
        ValueError: the line has neither VAT nor a VAT rate, or a zero quantity; validate the
            document first.

    """
    vat = line_vat(line)
    if vat is None:
        raise ValueError("line has neither vat nor vat_rate; validate the document first")
    if line.quantity == 0:
        raise ValueError("line has quantity 0; validate the document first")
    description = line.description or ""
    if line.quantity == _ONE:
        return WireLine(_ONE, line.net, vat, description)
    quantum = Decimal(1).scaleb(-max(0, min(rate_decimals, 4)))
    rate = unit_rate(line.net, line.quantity, quantum)
    if rate * line.quantity == line.net:
        return WireLine(line.quantity, rate, vat, description)
    each = unit_rate(line.net, line.quantity)
    if not each:  # a price below 0.0001 a unit: show enough of it to be read
        each = unit_rate(line.net, line.quantity, Decimal("1e-8"))
    shown = f"({_plain(line.quantity)} x {_plain(each)})"
    return WireLine(_ONE, line.net, vat, f"{description} {shown}" if description else shown)


def _plain(value: Decimal) -> str:
    """*value* without exponent or trailing zeros: ``3``, ``2.5``, ``33.3333``."""
    return format(value.normalize(), "f")
