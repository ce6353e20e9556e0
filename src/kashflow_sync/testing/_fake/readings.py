"""Readings: which version of KashFlow's unconfirmed behaviour the fake plays.

Public KashFlow clients report facts that nobody has confirmed against a live account
(``shared/reference/kashflow-soap-notes.md`` section 8). The SDK must be right under every
reading, so the fake plays each one on demand: a :class:`Readings` value says which. The
defaults are the fake's long-standing behaviour.

The line arithmetic for the rate and currency readings lives here too, as pure functions, so
one place says how a line's stored amounts follow from what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal

import attrs

__all__ = [
    "CREDIT_READINGS",
    "DEFAULT_SUCCESS_NOTE",
    "LineAmounts",
    "Readings",
    "store_line",
]

NotFoundReading = Literal["status_no", "empty_object"]
RoundingReading = Literal["half_up", "half_even"]
CreditLinesReading = Literal["either", "negative_rate", "negative_quantity", "refused"]
CreditVatReading = Literal["as_sent", "from_net"]
ApplyAnswerReading = Literal["truthful", "always_false", "status_no"]
CreditRefundReading = Literal["negative", "positive", "refused"]

#: The one note on a successful answer that KashFlow's own change-log quotes (for GetReceipts).
DEFAULT_SUCCESS_NOTE = (
    "This function has now been modified to return the last 100 receipts created. "
    "There\u2019s a total of 1 receipts contained in 1 pages. If you want to get other receipts "
    "you need to use the GetReceiptsWithPaging service method and pass the appropriate parameters"
)

_ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def _rate_decimals(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not 0 <= value <= 6):
        raise ValueError(f"rate_decimals must be None or 0 to 6, not {value!r}")


def _note(value: bool | str) -> bool | str:
    if not isinstance(value, (bool, str)):
        raise TypeError(f"success_note must be a bool or a string, not {type(value).__name__}")
    return value


@attrs.frozen(kw_only=True)
class Readings:
    """How the fake answers where KashFlow's behaviour is reported but unconfirmed.

    Give one to ``FakeKashFlow(readings=...)``; change it later with ``fake.readings = ...``
    or ``fake.set_readings(not_found="empty_object")``. A reading applies to requests that
    arrive after it is set; documents already stored keep the amounts they were stored with.

    Attributes:
        not_found: how a lookup of something that does not exist is answered.
            ``"status_no"`` (default): ``Status=NO`` with "There is no ..." (DeskproApps'
            client). ``"empty_object"``: ``Status=OK`` with an empty object (ids and numbers
            0, empty strings, ``0001-01-01`` dates) or, for list lookups, an empty array
            (Net::KashFlow, edclements' client). Applies to every ``Get...`` lookup and, as
            ``Status=OK`` with result 0, to every ``Delete...`` of something absent.
        rate_decimals: how many decimals of a line's unit ``Rate`` KashFlow keeps: 4
            (default, what clients assume), 2 (websnail's client and KashFlow's CSV-import
            help), or None to keep every digit sent. The line's net (``Rate x Quantity``
            to the penny), the document's ``NetAmount`` and, under ``recompute_vat``, the VAT
            all follow from the stored rate: net 100.00 over quantity 3 sent as
            ``Rate=33.3333`` is stored as 33.33 and totals 99.99 under ``rate_decimals=2``.
        rounding: how KashFlow rounds when it cuts decimals: ``"half_up"`` (default: half
            away from zero, what SQL Server does when a value is stored in a column of smaller
            scale; an assumption, as KashFlow is ASP.NET and most likely keeps money in SQL
            Server columns) or ``"half_even"`` (banker's rounding: .NET's ``Math.Round``
            default, should the cut happen in code). Nothing public says which.
            Used for the stored rate, the line net, converted amounts and recomputed VAT.
        recompute_vat: False (default) keeps each line's ``VatAmount`` as sent; True plays a
            KashFlow that derives it from the stored line: ``net x VatRate / 100`` to the
            penny (0 for the exempt rate -1).
        values_in_currency: False (default) stores every line as sent. True plays the
            reading websnail's client reports: on a document in a currency other than the
            account's home currency, a line with ``ValuesInCurrency=1`` lands as sent, but a
            line without it is taken to be in the home currency and converted: its ``Rate``
            and ``VatAmount`` are multiplied by the document's ``ExchangeRate`` (or, when that
            is 0, the currency's rate in ``GetCurrencies``). The direction of the conversion
            is an assumption; that the amounts end up changed is the point.
        success_note: False (default) answers ``Status=OK`` with an empty ``StatusDetail``.
            True puts KashFlow's change-log note (:data:`DEFAULT_SUCCESS_NOTE`) on every
            successful answer; a string puts that text there instead, so tests can prove that
            only ``Status`` decides success.
        dropbox_connected: True (default) accepts attachments. False plays an account
            whose Dropbox is not connected: ``AttachFileToReceipt`` and
            ``AttachFileToInvoice`` answer ``Status=NO`` and the document stays as it was.
        credit_lines: which negative lines KashFlow takes (a credit note is a receipt or an
            invoice with negative lines; the SOAP API has no credit-note insert, and nothing
            public says which sign KashFlow wants where). ``"either"`` (default): a negative
            ``Rate`` or a negative ``Quantity``. ``"negative_rate"``: only a negative rate (a
            negative quantity is refused). ``"negative_quantity"``: only a negative quantity.
            ``"refused"``: no negative line at all (as Hubdoc reports of some ledgers).
        credit_vat: the sign KashFlow keeps on a negative line's ``VatAmount``. ``"as_sent"``
            (default) keeps it as sent; ``"from_net"`` gives it the line net's sign whatever
            sign was sent.
        apply_answer: what ``applyCreditNoteToInvoice`` answers. ``"truthful"`` (default):
            true when it applied the credit, false (nothing done) when it could not.
            ``"always_false"``: false even when it applied it (a boolean nobody can trust).
            ``"status_no"``: ``Status=NO`` with the reason when it could not apply it.
        apply_needs_bank: True (default) plays KashFlow's help: applying creates two zero-sum
            payments, so it cannot be done on an account with no bank account or no sales
            payment method. False applies regardless.
        credit_refund: what a payment against a credit note (a refund) must look like.
            ``"negative"`` (default): a negative ``PayAmount`` (a positive one is refused).
            ``"positive"``: a positive one (a negative one is refused, as for invoices).
            ``"refused"``: no payment can be recorded against a credit note.

    """

    not_found: NotFoundReading = attrs.field(
        default="status_no", validator=attrs.validators.in_(("status_no", "empty_object"))
    )
    rate_decimals: int | None = attrs.field(default=4, validator=_rate_decimals)
    rounding: RoundingReading = attrs.field(
        default="half_up", validator=attrs.validators.in_(("half_up", "half_even"))
    )
    recompute_vat: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    values_in_currency: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    success_note: bool | str = attrs.field(default=False, converter=_note)
    dropbox_connected: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    credit_lines: CreditLinesReading = attrs.field(
        default="either",
        validator=attrs.validators.in_(("either", "negative_rate", "negative_quantity", "refused")),
    )
    credit_vat: CreditVatReading = attrs.field(
        default="as_sent", validator=attrs.validators.in_(("as_sent", "from_net"))
    )
    apply_answer: ApplyAnswerReading = attrs.field(
        default="truthful",
        validator=attrs.validators.in_(("truthful", "always_false", "status_no")),
    )
    apply_needs_bank: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    credit_refund: CreditRefundReading = attrs.field(
        default="negative", validator=attrs.validators.in_(("negative", "positive", "refused"))
    )

    @property
    def note(self) -> str | None:
        """The ``StatusDetail`` for successful answers, or None for none."""
        if self.success_note is True:
            return DEFAULT_SUCCESS_NOTE
        return self.success_note or None

    @classmethod
    def alternatives(cls) -> Mapping[str, Readings]:
        """The defaults and each reported reading on its own, keyed by a short test id.

        Use it to run a test under every reading::

            @pytest.mark.parametrize("readings", Readings.alternatives().values(),
                                     ids=list(Readings.alternatives()))
        """
        return {
            "default": cls(),
            "not_found=empty_object": cls(not_found="empty_object"),
            "rate_decimals=2": cls(rate_decimals=2),
            "rate_decimals=2,half_even": cls(rate_decimals=2, rounding="half_even"),
            "recompute_vat": cls(recompute_vat=True),
            "rate_decimals=2,recompute_vat": cls(rate_decimals=2, recompute_vat=True),
            "values_in_currency": cls(values_in_currency=True),
            "success_note": cls(success_note=True),
            "dropbox_disconnected": cls(dropbox_connected=False),
            **{name: readings for name, readings in CREDIT_READINGS.items() if name != "default"},
        }

    @classmethod
    def credit_alternatives(cls) -> Mapping[str, Readings]:
        """The defaults and each reported reading of credit notes on its own.

        For tests of credit notes under every reading (see :data:`CREDIT_READINGS`).
        """
        return CREDIT_READINGS


#: The defaults and each credit-note reading on its own, keyed by a short test id.
CREDIT_READINGS: Mapping[str, Readings] = {
    "default": Readings(),
    "credit_lines=negative_rate": Readings(credit_lines="negative_rate"),
    "credit_lines=negative_quantity": Readings(credit_lines="negative_quantity"),
    "credit_lines=refused": Readings(credit_lines="refused"),
    "credit_vat=from_net": Readings(credit_vat="from_net"),
    "apply_answer=always_false": Readings(apply_answer="always_false"),
    "apply_answer=status_no": Readings(apply_answer="status_no"),
    "credit_refund=positive": Readings(credit_refund="positive"),
    "credit_refund=refused": Readings(credit_refund="refused"),
}


@attrs.frozen
class LineAmounts:
    """What KashFlow stores for one line: unit rate, net to the penny and VAT amount."""

    rate: Decimal
    net: Decimal
    vat: Decimal


def store_line(
    readings: Readings,
    *,
    quantity: Decimal,
    rate: Decimal,
    vat: Decimal,
    vat_rate: Decimal,
    convert_by: Decimal | None,
) -> LineAmounts:
    """The amounts KashFlow keeps for a line sent as *quantity* x *rate* with *vat*.

    Args:
        readings: the readings in force.
        quantity: the line's ``Quantity``.
        rate: the line's ``Rate`` (net per unit) as sent.
        vat: the line's ``VatAmount`` as sent.
        vat_rate: the line's ``VatRate`` (a percentage; -1 exempt).
        convert_by: the exchange rate to multiply rate and VAT by when KashFlow takes the
            line to be in the home currency (see ``Readings.values_in_currency``), else None.

    Returns:
        The stored rate, the line net (``rate x quantity`` to the penny) and the VAT.

    """
    mode = _ROUNDING[readings.rounding]
    if convert_by is not None:
        rate = rate * convert_by
        vat = (vat * convert_by).quantize(_CENT, rounding=mode)
    if readings.rate_decimals is not None:
        rate = rate.quantize(Decimal(1).scaleb(-readings.rate_decimals), rounding=mode)
    net = (rate * quantity).quantize(_CENT, rounding=mode)
    if readings.recompute_vat:
        vat = Decimal("0.00") if vat_rate < 0 else (net * vat_rate / _HUNDRED).quantize(_CENT, mode)
    elif readings.credit_vat == "from_net" and net < 0:
        vat = -abs(vat)
    return LineAmounts(rate=rate, net=net, vat=vat)
