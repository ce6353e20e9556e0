"""Documents to publish (purchase and sales invoices and credit notes), rules, problems, results.

Money is :class:`~decimal.Decimal` and dates are :class:`~datetime.date`. Where money is given,
a ``Decimal``, an ``int`` or an exact decimal string (``"12.34"``) is accepted; a float is refused
by mypy (the parameters are typed ``Decimal | int | str``) and at run time with a
:class:`TypeError`, because a binary float cannot hold pennies exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import attrs

from .. import errors
from .._error_codes import ErrorCode
from .._limits import MAX_EXTERNAL_ID_LENGTH, key_problem
from .._problem import Problem

__all__ = [
    "Attachment",
    "BatchItem",
    "BatchResult",
    "Document",
    "Line",
    "Payment",
    "Problem",
    "PublishAttempt",
    "PublishResult",
    "PurchaseCreditNote",
    "PurchaseInvoice",
    "ResolvedDocument",
    "Rule",
    "SalesCreditNote",
    "SalesInvoice",
]


#: Larger amounts are refused at construction: no invoice is that big, and KashFlow's
#: decimal fields (.NET decimal) and its totals would overflow long before.
MAX_AMOUNT = Decimal("1e12")
#: More decimal places are refused at construction. KashFlow's decimal fields keep at most 28;
#: a quotient of amounts of a penny or more (28 significant digits in Python's default decimal
#: context) fits in 40. Without a bound, ``Decimal("1E-999999999")`` would be written out as a
#: billion zeros.
MAX_DECIMAL_PLACES = 40

#: external_ids starting with this are the SDK's own journal keys.
RESERVED_PREFIX = "kashflow_sync:"


#: A document's kind: what it is to the bookkeeper, and how the journal and results name it.
DocumentKind = Literal["purchase", "sales", "purchase_credit_note", "sales_credit_note"]
#: Which side of the ledger a kind lives on in KashFlow: ``"purchase"`` documents are receipts
#: of a supplier, ``"sales"`` ones invoices of a customer (credit notes included).
Side = Literal["purchase", "sales"]
#: Every document kind, invoices first.
DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    "purchase",
    "sales",
    "purchase_credit_note",
    "sales_credit_note",
)
CREDIT_NOTE_KINDS: frozenset[str] = frozenset({"purchase_credit_note", "sales_credit_note"})

_NOUNS = {
    "purchase": "receipt",
    "sales": "invoice",
    "purchase_credit_note": "supplier credit note",
    "sales_credit_note": "credit note",
}


def side(kind: str) -> Side:
    """The ledger side of *kind*: ``"purchase"`` (receipts, suppliers) or ``"sales"``."""
    return "purchase" if kind in ("purchase", "purchase_credit_note") else "sales"


def is_credit_note(kind: str) -> bool:
    """Whether *kind* is a purchase or sales credit note."""
    return kind in CREDIT_NOTE_KINDS


def kashflow_noun(kind: str) -> str:
    """What a bookkeeper calls a document of *kind* in KashFlow.

    ``"receipt"``, ``"invoice"``, ``"supplier credit note"`` (a receipt with negative lines)
    or ``"credit note"`` (an invoice with negative lines).
    """
    return _NOUNS.get(kind, "invoice")


def _external_id(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"external_id must be a str, not {type(value).__name__} ({value!r})")
    if not value.strip():
        raise ValueError("external_id must be a non-empty string: the host's own id of the item")
    if value.startswith(RESERVED_PREFIX):
        raise ValueError(f"external_id may not start with {RESERVED_PREFIX!r} (reserved)")
    # The journal is keyed by it: refused here, before any storage call could fail on it.
    problem = key_problem("external_id", value, MAX_EXTERNAL_ID_LENGTH)
    if problem is not None:
        raise ValueError(f"{problem}: use the host's own short id of the item")
    return value


def _optional_instance(cls: type) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not isinstance(value, cls):
            raise TypeError(
                f"{attribute.name} must be a kashflow_sync.{cls.__name__} or None, "
                f"not {type(value).__name__}"
            )

    return check


#: What money fields accept: exact values only (never a float).
Money = Decimal | int | str

#: An exact decimal string: digits, an optional sign and fraction, nothing else ("1e3" is not).
_DECIMAL_TEXT = re.compile(r"\s*[+-]?[0-9]+(\.[0-9]+)?\s*")


def _money(value: Money) -> Decimal:
    if isinstance(value, (bool, float)):
        raise TypeError(
            f"money must be a decimal.Decimal, int or decimal string, not {type(value).__name__} "
            f"({value!r}); floats cannot represent pennies exactly: use Decimal('12.34')"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an amount: write digits with an optional decimal point, "
                "e.g. '12.34'"
            )
        value = Decimal(value.strip())
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"money must be a finite Decimal, not {value!r}")
        # copy_abs, not abs(): abs() rounds to the context, which overflows on an exponent
        # beyond its limit (Decimal("1E+999999999")) instead of answering.
        if value.copy_abs() >= MAX_AMOUNT:
            raise ValueError(f"amount {value:.6} is too large (limit {MAX_AMOUNT:,.0f})")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
            raise ValueError(
                f"amount {value:.6} has {-exponent} decimal places; at most "
                f"{MAX_DECIMAL_PLACES} are kept (KashFlow keeps 28): round it"
            )
        return value
    raise TypeError(f"money must be a decimal.Decimal, not {type(value).__name__} ({value!r})")


def _optional_money(value: Money | None) -> Decimal | None:
    return None if value is None else _money(value)


def _a_date(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"expected a datetime.date, not {type(value).__name__} ({value!r})")
    return value


def _optional_date(value: Any) -> date | None:
    return None if value is None else _a_date(value)


@attrs.frozen
class Line:
    """One line of a document.

    Args:
        description: the line's text.
        net: the line's net total (quantity x unit price), before VAT.
        vat: the line's VAT amount; None lets the SDK work it out from ``vat_rate``.
        vat_rate: percentage (20 means 20%; -1 exempt/n-a); None lets a rule fill it.
        category: nominal code (e.g. 7500); None lets a rule fill it.
        project: project number (Dext: class); None for none or a rule's.
        quantity: number of units; the unit price sent to KashFlow is ``net / quantity``.

    """

    description: str | None = None
    net: Decimal = attrs.field(default=Decimal(0), converter=_money)
    vat: Decimal | None = attrs.field(default=None, converter=_optional_money)
    vat_rate: Decimal | None = attrs.field(default=None, converter=_optional_money)
    category: int | None = None
    project: int | None = None
    quantity: Decimal = attrs.field(default=Decimal(1), converter=_money)

    @property
    def gross(self) -> Decimal:
        """Net plus VAT (VAT counted as 0 while unknown)."""
        return self.net + (self.vat or Decimal(0))


@attrs.frozen(repr=False)
class Attachment:
    """The source image or PDF, attached to the document in KashFlow."""

    filename: str
    content: bytes
    content_type: str = "application/pdf"

    def __repr__(self) -> str:
        return (
            f"Attachment(filename={self.filename!r}, content=<{len(self.content)} bytes>, "
            f"content_type={self.content_type!r})"
        )


@attrs.frozen
class Payment:
    """A payment recorded against the document once it is published.

    Args:
        method: payment method name or KashFlow id (purchase or sales methods as fits).
        bank_account: the bank account's nominal code (e.g. 1200) or name.
        paid_on: the payment date; None means the document's issue date.
        amount: None means the document's full gross.

    """

    method: str | int | None = None
    bank_account: int | str | None = None
    paid_on: date | None = attrs.field(default=None, converter=_optional_date)
    amount: Decimal | None = attrs.field(default=None, converter=_optional_money)


def _lines(value: Any) -> tuple[Line, ...]:
    lines = tuple(value)
    for line in lines:
        if not isinstance(line, Line):
            raise TypeError(f"lines must be kashflow_sync.Line objects, not {type(line).__name__}")
    return lines


@attrs.frozen
class _DocumentBase:
    external_id: str = attrs.field(converter=_external_id)
    reference: str = attrs.field(validator=attrs.validators.instance_of(str))
    issue_date: date | None = attrs.field(converter=_optional_date)
    lines: tuple[Line, ...] = attrs.field(converter=_lines)
    due_date: date | None = attrs.field(default=None, converter=_optional_date, kw_only=True)
    currency: str | None = attrs.field(default=None, kw_only=True)
    attachment: Attachment | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_optional_instance(Attachment),
    )
    payment: Payment | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_optional_instance(Payment),
    )
    location: str | None = attrs.field(default=None, kw_only=True)
    create_contact: bool = attrs.field(
        default=False, kw_only=True, validator=attrs.validators.instance_of(bool)
    )

    @property
    def net(self) -> Decimal:
        """Sum of the lines' net amounts."""
        return sum((line.net for line in self.lines), Decimal(0))

    @property
    def vat(self) -> Decimal:
        """Sum of the lines' VAT amounts."""
        return sum((line.vat or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def gross(self) -> Decimal:
        """Net plus VAT."""
        return self.net + self.vat

    @property
    def sign(self) -> int:
        """1 for an invoice, -1 for a credit note (KashFlow holds its amounts negative)."""
        return -1 if getattr(self, "kind", "") in CREDIT_NOTE_KINDS else 1

    @property
    def ledger_net(self) -> Decimal:
        """The net as KashFlow holds it (negative for a credit note)."""
        return self.net * self.sign

    @property
    def ledger_vat(self) -> Decimal:
        """The VAT as KashFlow holds it (negative for a credit note)."""
        return self.vat * self.sign

    @property
    def ledger_gross(self) -> Decimal:
        """The gross as KashFlow holds it (negative for a credit note)."""
        return self.gross * self.sign


def _credits(value: Any) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(
            "credits must be the credited invoice's external_id (str) or its KashFlow number "
            f"(int), not {type(value).__name__} ({value!r})"
        )
    if isinstance(value, int) and value <= 0:
        raise ValueError(f"credits must be a positive KashFlow invoice number, not {value}")
    if isinstance(value, str) and not value.strip():
        raise ValueError("credits must be a non-empty external_id, or None")
    return value


@attrs.frozen
class _FromSupplier(_DocumentBase):
    """A document of a supplier: a KashFlow receipt (negative lines for a credit note)."""

    supplier: str = attrs.field(kw_only=True)

    @property
    def contact(self) -> str:
        """The supplier, under the name every document kind shares."""
        return self.supplier

    @property
    def side(self) -> Side:
        """The ledger side: ``"purchase"`` (a receipt of a supplier)."""
        return "purchase"


@attrs.frozen
class _ToCustomer(_DocumentBase):
    """A document to a customer: a KashFlow invoice (negative lines for a credit note)."""

    customer: str = attrs.field(kw_only=True)

    @property
    def contact(self) -> str:
        """The customer, under the name every document kind shares."""
        return self.customer

    @property
    def side(self) -> Side:
        """The ledger side: ``"sales"`` (an invoice of a customer)."""
        return "sales"


@attrs.frozen
class PurchaseInvoice(_FromSupplier):
    """A supplier's invoice to publish as a KashFlow receipt (purchase).

    ``supplier`` is a supplier name or code; one not in the synced lists is created on publish
    unless the client was built with ``create_missing_contacts=False`` (a name close to an
    existing supplier's is the problem ``similar_contact`` unless ``create_contact=True``).
    """

    kind: Literal["purchase"] = attrs.field(default="purchase", init=False)


@attrs.frozen
class SalesInvoice(_ToCustomer):
    """A sales invoice to a customer; ``customer`` is a customer name or code."""

    kind: Literal["sales"] = attrs.field(default="sales", init=False)


@attrs.frozen
class PurchaseCreditNote(_FromSupplier):
    """A supplier's credit note (a refund, returned goods), amounts as printed: positive.

    KashFlow's API has no credit-note insert: the SDK writes it as KashFlow's own help enters
    one, a receipt whose lines are negative. ``credits`` names the invoice it credits (the
    external_id it was published under, or its KashFlow receipt number); KashFlow's API cannot
    allocate a supplier credit to a receipt, so the result says what to click in KashFlow.
    """

    credits: str | int | None = attrs.field(default=None, kw_only=True, converter=_credits)

    kind: Literal["purchase_credit_note"] = attrs.field(default="purchase_credit_note", init=False)


@attrs.frozen
class SalesCreditNote(_ToCustomer):
    """A credit note to a customer, amounts as printed: positive.

    Written as KashFlow takes one: an invoice with negative lines, then, when ``credits`` names
    the invoice it credits (its external_id, or its KashFlow invoice number), applied to it
    with ``applyCreditNoteToInvoice`` (a journaled write, exactly once).
    """

    credits: str | int | None = attrs.field(default=None, kw_only=True, converter=_credits)

    kind: Literal["sales_credit_note"] = attrs.field(default="sales_credit_note", init=False)


Document = PurchaseInvoice | SalesInvoice | PurchaseCreditNote | SalesCreditNote
"""Any of the four kinds of document: what ``publish``, ``validate`` and ``resolve`` take."""
#: Every document class, by kind.
DOCUMENT_CLASSES: Mapping[str, type[Document]] = {
    "purchase": PurchaseInvoice,
    "sales": SalesInvoice,
    "purchase_credit_note": PurchaseCreditNote,
    "sales_credit_note": SalesCreditNote,
}


def credited(document: Document) -> str | int | None:
    """What *document* credits (a credit note's ``credits``), None for an invoice."""
    return getattr(document, "credits", None)


@attrs.frozen
class Rule:
    """Defaults for documents from one supplier or to one customer; every field optional.

    What a document says always wins; a rule only fills what the document leaves blank.

    ``check_duplicates=False`` is Dext's duplicate detection "Off" for this contact: its
    documents that share a reference and a total (a fixed monthly reference) are all
    published, where otherwise the second is ``duplicate_in_ledger``. It switches off both the
    offline check and the look in KashFlow before the first send, for this contact only (the
    client's ``check_ledger_duplicates=False`` does so for every contact).
    """

    category: int | None = None
    vat_rate: Decimal | None = attrs.field(default=None, converter=_optional_money)
    project: int | None = None
    payment_method: str | int | None = None
    bank_account: int | str | None = None
    description: str | None = None
    due_days: int | None = None
    check_duplicates: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


@attrs.frozen
class ResolvedDocument:
    """A document with rule defaults filled in, and what set each field.

    ``check_duplicates`` is False when the contact's rule switched duplicate checking off
    (``Rule(check_duplicates=False)``); ``explain["check_duplicates"]`` then names the rule.
    """

    document: Document
    explain: Mapping[str, str]
    check_duplicates: bool = attrs.field(default=True, kw_only=True)


def _problems(value: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(value)


@attrs.frozen
class PublishResult:
    """A published document: KashFlow's number and internal id for it.

    Attributes:
        external_id: the host's id of the document.
        kind: ``"purchase"``, ``"sales"``, ``"purchase_credit_note"`` or
            ``"sales_credit_note"``.
        number: KashFlow's receipt or invoice number (credit notes are numbered among them).
        kashflow_id: KashFlow's internal id (0 when it could not be learned).
        status: ``"published"`` now, or ``"already_published"`` before.
        applied: for a credit note naming the invoice it ``credits``: True when it was applied
            to that invoice in KashFlow, False when it could not be (``notices`` say why and
            what to do); None when nothing was to be applied.
        notices: what a person should know or do in KashFlow (severity ``"notice"``).

    """

    external_id: str
    kind: DocumentKind
    number: int
    kashflow_id: int
    status: Literal["published", "already_published"]
    applied: bool | None = attrs.field(default=None, kw_only=True)
    notices: tuple[Problem, ...] = attrs.field(default=(), kw_only=True, converter=_problems)


@attrs.frozen
class PublishAttempt:
    """One recorded step of publishing a document, as ``publish_history`` shows it."""

    at: datetime
    step: str
    outcome: str
    detail: str = ""


def _as_kashflow_error(value: BaseException | None) -> errors.KashFlowError | None:
    """Any other exception (a bug, a host Storage's own error) wrapped, kept as ``__cause__``."""
    if value is None or isinstance(value, errors.KashFlowError):
        return value
    wrapped = errors.KashFlowError(
        f"unexpected {type(value).__name__}: {value}",
        code=ErrorCode.INTERNAL_ERROR,
        remedy=(
            "This is a bug in kashflow_sync or in a Storage or RuleResolver the host plugged in; "
            "the original exception is the error's __cause__. Publishing again is safe."
        ),
    )
    wrapped.__cause__ = value
    return wrapped


@attrs.frozen
class BatchItem:
    """One document's outcome in a batch: exactly one of ``result`` and ``error`` is set.

    ``error`` is always a :class:`~kashflow_sync.errors.KashFlowError`: anything else a publish
    raised is wrapped (code ``internal_error``) with the original as ``__cause__``.
    """

    external_id: str
    result: PublishResult | None = None
    error: errors.KashFlowError | None = attrs.field(default=None, converter=_as_kashflow_error)

    @property
    def ok(self) -> bool:
        """True when the document is in KashFlow (published now or before)."""
        return self.result is not None


@attrs.frozen
class BatchResult:
    """Outcomes of ``publish_many``, in input order.

    ``stopped`` is set when the batch's breaker stopped it (KashFlow unreachable): one
    :class:`~kashflow_sync.errors.UnreachableError` saying since when and how many documents
    were not attempted; each of those has it as its ``error``.
    """

    items: tuple[BatchItem, ...]
    stopped: errors.UnreachableError | None = attrs.field(default=None, kw_only=True)

    def __iter__(self) -> Iterator[BatchItem]:
        """Iterate the items in input order."""
        return iter(self.items)

    def __len__(self) -> int:
        """Number of documents in the batch."""
        return len(self.items)

    def __getitem__(self, index: int) -> BatchItem:
        """The item at *index* (input order)."""
        return self.items[index]

    @property
    def published(self) -> Sequence[BatchItem]:
        """Items that ended in KashFlow (``published`` or ``already_published``)."""
        return [i for i in self.items if i.result is not None]

    @property
    def failed(self) -> Sequence[BatchItem]:
        """Items that raised an error."""
        return [i for i in self.items if i.error is not None]
