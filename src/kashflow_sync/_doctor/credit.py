"""``doctor --probe-writes``: how this account takes credit notes, from throwaway ones.

KashFlow's API has no credit-note insert: a supplier credit note is a receipt with negative
lines, a customer one an invoice with negative lines, applied to the invoice it credits with
``applyCreditNoteToInvoice`` (whose boolean nobody documents). Each uncertain reading is
learned here from documents made on the probe's throwaway supplier and customer:

- **Which negative a line may carry.** On each side, one credit note with a minus on the
  ``Rate``, one with a minus on the ``Quantity``; a refusal (``Status=NO``) made nothing. A
  refusal counts only once a positive document with the same line was taken on that side (the
  probe's receipt; an invoice made first), so a refusal for another reason never reads as "no
  credit notes". The SDK uses one reading for both sides, so only what both take is learned.
- **The VAT's sign.** Every credit line, sent as the SDK sends it (the VAT negative like the
  net), is read back; one more credit note, with the VAT *against* the net's sign, shows
  whether KashFlow keeps a ``VatAmount`` as sent or gives it the net's sign (or works it out).
- **A refund.** A payment on a credit note nothing else is done to, negative first, then
  positive (a refusal made nothing), on each side.
- **The apply.** A credit note applied to the invoice, read back (a payment appears on the
  credit note when it was applied), then the same credit note applied again, which cannot be
  applied: so a ``false`` is seen both ways, and what it meant is read back.

Everything hangs off the throwaway contacts; the cleanup finds and deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import attrs

from .._account.facts import CreditLines, CreditRefund
from .._account.lists import Lists
from ..soap import operations
from ..soap.records import LedgerDocument
from .findings import ProbeFindings
from .session import DoctorSession, Exchange
from .throwaway import Throwaway, create_contact, insert, read_back, vat_of

__all__ = ["CreditProbe"]

Form = Literal["rate", "quantity"]
_FORMS: tuple[Form, ...] = ("rate", "quantity")
_FIELD = {"rate": "Rate", "quantity": "Quantity"}
#: Each credit line's net, as printed (the minus goes on the rate or the quantity).
NET = Decimal("10.00")
_LINES: dict[frozenset[str], CreditLines] = {
    frozenset({"rate", "quantity"}): "either",
    frozenset({"rate"}): "rate",
    frozenset({"quantity"}): "quantity",
}


def _refused(sent: Exchange[Any]) -> bool:
    return sent.error is not None and (sent.status or "").upper() == "NO"


@attrs.define
class _Side:
    """What one side's credit notes showed: the forms taken and refused, or why unknown."""

    contact: Throwaway
    taken: dict[Form, int] = attrs.Factory(dict)
    refused: dict[Form, str] = attrs.Factory(dict)
    unknown: str = ""
    documents: dict[int, LedgerDocument] = attrs.Factory(dict)

    @property
    def plural(self) -> str:
        return f"{self.contact.words.document}s"

    def said(self) -> str:
        if self.unknown:
            return f"{self.plural}: not learned ({self.unknown})"
        tried = [
            f"a negative {_FIELD[form]} "
            + ("taken" if form in self.taken else f"refused ('{self.refused.get(form, '')}')")
            for form in _FORMS
        ]
        return f"{self.plural}: " + ", ".join(tried)


@attrs.frozen
class _Refund:
    """A refund tried on one side's credit note: the reading, or None, and what was seen."""

    reading: CreditRefund | None
    said: str
    tried: bool = True


class CreditProbe:
    """The credit-note part of the write probe: :meth:`run` it once.

    Args:
        session: the doctor's session, with writes allowed.
        lists: the lists of the throwaway sync.
        findings: where what is learned goes (``credit_*``, ``apply_*`` and their evidence).
        notes: where what could not be probed is said.
        supplier: the probe's throwaway supplier (already created, or not).
        customer: the throwaway customer, created here.
        reference: the throwaway documents' reference.
        today: the date of the documents and payments.
        vat_rate: the VAT rate of every line.
        purchase_nominal: the nominal code (internal id) of the probe's receipt lines.

    """

    def __init__(
        self,
        session: DoctorSession,
        lists: Lists,
        findings: ProbeFindings,
        notes: list[str],
        *,
        supplier: Throwaway,
        customer: Throwaway,
        reference: str,
        today: date,
        vat_rate: Decimal,
        purchase_nominal: int,
    ) -> None:
        """Prepare; nothing is sent until :meth:`run`."""
        self.session = session
        self.lists = lists
        self.findings = findings
        self.notes = notes
        self.supplier = supplier
        self.customer = customer
        self.reference = reference
        self.today = today
        self.vat_rate = vat_rate
        self.vat = vat_of(NET, vat_rate)
        # The receipt's own code, so a refusal can only be about the minus; a turnover code
        # for invoices, as a sale would use.
        self._nominal = {"purchase": purchase_nominal, "sales": _nominal(lists, 1)}
        self._net_kept: list[bool] = []
        self._vat_as_sent: list[bool] = []

    # -- lines ------------------------------------------------------------------------------

    def _line(
        self, side: str, form: Form | None, description: str, *, vat_sign: int = -1
    ) -> dict[str, Any]:
        """One line of NET: positive (*form* None), or a credit with the minus on *form*.

        A credit line's VAT is negative like its net, as the SDK sends it; ``vat_sign=1``
        sends it against the net's sign.
        """
        quantity, rate = Decimal(1), NET
        if form == "rate":
            rate = -rate
        elif form == "quantity":
            quantity = -quantity
        vat = self.vat if self.vat == 0 or form is None else vat_sign * self.vat
        return {
            "Description": description,
            "Quantity": quantity,
            "Rate": rate,
            "VatRate": self.vat_rate,
            "VatAmount": vat,
            "ChargeType": self._nominal[side],
        }

    def _insert(self, contact: Throwaway, lines: Sequence[dict[str, Any]]) -> Exchange[int]:
        return insert(
            self.session, contact, reference=self.reference, today=self.today, lines=lines
        )

    # -- the probe --------------------------------------------------------------------------

    def run(self, *, receipt_taken: bool) -> None:
        """Probe both sides; *receipt_taken*: the probe's positive receipt was taken."""
        purchase = self._forms(self.supplier, control=receipt_taken)
        invoice, sales = self._sales()
        sides = (purchase, sales)
        self._learn_lines(sides)
        self._learn_vat(sides)
        self._learn_refunds(sides)
        self._learn_apply(sales, invoice)

    def _sales(self) -> tuple[LedgerDocument | None, _Side]:
        """The throwaway customer, an invoice to compare with (and apply to), credit notes."""
        side = _Side(self.customer)
        made = create_contact(self.session, self.customer)
        if made.error is not None:
            side.unknown = f"the throwaway customer could not be created: {made.error}"
            self.notes.append(f"no credit note probed on invoices: {side.unknown}")
            return None, side
        sent = self._insert(self.customer, [self._line("sales", None, "doctor: to be credited")])
        found = read_back(self.session, self.customer, sent.value()) if sent.ok else None
        invoice = found.result if found is not None else None
        if invoice is None:
            error = sent.error or (found.error if found is not None else None)
            side.unknown = f"the invoice to compare with could not be made or read: {error}"
            self.notes.append(f"no credit note probed on invoices: {side.unknown}")
            return None, side
        return invoice, self._forms(self.customer, control=True)

    def _forms(self, contact: Throwaway, *, control: bool) -> _Side:
        """Try a credit note with a minus on the rate, then one on the quantity; read back."""
        side = _Side(contact)
        noun = contact.words.document
        if contact.kashflow_id is None:
            side.unknown = f"no throwaway {contact.words.contact}"
            return side
        if not control:
            side.unknown = f"no positive {noun} was taken to compare a refusal with"
            return side
        for form in _FORMS:
            description = f"doctor: credit, minus on the {form}"
            sent = self._insert(contact, [self._line(contact.side, form, description)])
            if sent.ok:
                side.taken[form] = sent.value()
                self._read_credit(side, sent.value())
            elif _refused(sent):
                side.refused[form] = sent.detail
            else:
                # A lost answer may still have made it: the cleanup finds it on the contact.
                side.unknown = f"a {noun} with a negative {_FIELD[form]} failed: {sent.error}"
                self.notes.append(f"could not tell whether a credit {side.unknown}")
        return side

    def _read_credit(self, side: _Side, number: int) -> LedgerDocument | None:
        """Read a credit note back; note whether its net and VAT are as the SDK sent them."""
        found = read_back(self.session, side.contact, number)
        document = found.result
        if document is None:
            self.notes.append(f"could not read {side.contact.words.document} {number} back")
            return None
        side.documents[number] = document
        self._net_kept.append(document.net == -NET)
        if document.lines and self.vat:
            self._vat_as_sent.append(document.lines[0].vat_amount == -self.vat)
        return document

    # -- what was learned ---------------------------------------------------------------------

    def _learn_lines(self, sides: Sequence[_Side]) -> None:
        f = self.findings
        said = "; ".join(side.said() for side in sides)
        if self._net_kept and not all(self._net_kept):
            said += f"; a credit note of net -{NET} came back with another net"
        f.credit_net_kept = all(self._net_kept) if self._net_kept else None
        f.evidence["credit_lines"] = said
        if any(side.unknown for side in sides):
            return
        f.credit_forms = {side.contact.side: tuple(side.taken) for side in sides}
        both = frozenset(sides[0].taken).intersection(*(side.taken for side in sides[1:]))
        if both:
            f.credit_lines = _LINES[both]
        elif any(side.taken for side in sides):
            f.evidence["credit_lines"] = (
                f"{said}: no form both take, so the SDK tries a negative rate, then a negative "
                "quantity"
            )
        else:
            f.credit_lines = "refused"

    def _learn_vat(self, sides: Sequence[_Side]) -> None:
        """Whether a credit line's VAT is kept as sent, even against the net's sign."""
        f = self.findings
        f.credit_vat_as_sent = all(self._vat_as_sent) if self._vat_as_sent else None
        taken = [(side, form) for side in sides for form in side.taken]
        if not taken:
            f.evidence["credit_vat"] = "not probed: no credit note was taken"
            return
        if self.vat == 0:
            f.evidence["credit_vat"] = "not probed: the account has no VAT rate above 0"
            return
        side, form = taken[0]
        noun = side.contact.words.document
        description = "doctor: credit, VAT against the net's sign"
        line = self._line(side.contact.side, form, description, vat_sign=1)
        sent = self._insert(side.contact, [line])
        found = read_back(self.session, side.contact, sent.value()) if sent.ok else None
        lines = found.result.lines if found is not None and found.result is not None else ()
        kept = lines[0].vat_amount if lines else None
        ours = "as sent" if f.credit_vat_as_sent else "NOT as sent"
        first = f"VatAmount -{self.vat} on a credit line of net -{NET} came back {ours}"
        if kept is None:
            why = (
                f"refused: '{sent.detail}'"
                if _refused(sent)
                else f"failed: {sent.error}"
                if sent.error is not None
                else "could not be read back"
            )
            f.evidence["credit_vat"] = f"{first}; a {noun} with VatAmount {self.vat} {why}"
            return
        f.credit_vat_kept = kept == self.vat
        f.evidence["credit_vat"] = (
            f"{first}; VatAmount {self.vat} on one (against the net's sign) came back as {kept}"
        )

    def _learn_refunds(self, sides: Sequence[_Side]) -> None:
        f = self.findings
        refunds = [self._refund(side) for side in sides]
        f.evidence["credit_refund"] = "; ".join(r.said for r in refunds)
        tried = [r for r in refunds if r.tried]
        readings = {r.reading for r in tried}
        if tried and None not in readings and len(readings) == 1:
            f.credit_refund = tried[0].reading

    def _refund(self, side: _Side) -> _Refund:
        """A refund on a credit note of *side* that nothing else is done to."""
        plural = side.plural
        contact = side.contact
        methods = (
            self.lists.purchase_payment_methods
            if contact.side == "purchase"
            else self.lists.sales_payment_methods
        ).active
        banks = self.lists.bank_accounts.active
        if not side.taken:
            return _Refund(None, f"{plural}: no credit note to refund", tried=False)
        if not methods or not banks:
            which = "purchase" if contact.side == "purchase" else "sales"
            said = f"{plural}: not tried (the account has no {which} payment method or bank)"
            return _Refund(None, said, tried=False)
        number = self._refund_target(side)
        if number is None:
            return _Refund(None, f"{plural}: no credit note could be made to refund")
        gross = abs(side.documents[number].gross) if number in side.documents else NET + self.vat
        refusals: list[str] = []
        signs: tuple[tuple[int, CreditRefund], ...] = ((-1, "negative"), (1, "positive"))
        for sign, reading in signs:
            amount = sign * gross
            sent = self.session.exchange(
                operations.insert_payment(
                    contact.side,
                    number,
                    paid_on=self.today,
                    method_id=methods[0].kashflow_id,
                    account_id=banks[0].kashflow_id,
                    amount=amount,
                    note="kashflow-sync doctor probe: a refund",
                )
            )
            if sent.ok:
                back = self.session.exchange(operations.payments(contact.side, number))
                amounts = ", ".join(str(p.amount) for p in back.result or []) or "nothing"
                said = f"{plural}: a refund of {amount} was taken (read back: {amounts})"
                return _Refund(reading, "; ".join([*refusals, said]))
            if not _refused(sent):
                return _Refund(None, f"{plural}: a refund of {amount} failed: {sent.error}")
            refusals.append(f"{plural}: a refund of {amount} refused ('{sent.detail}')")
        return _Refund("refused", "; ".join(refusals))

    def _refund_target(self, side: _Side) -> int | None:
        """A credit note of *side* for the refund: not the one the apply uses."""
        spare = list(side.taken.values())[1:]
        if spare:
            return spare[0]
        form = next(iter(side.taken))
        description = "doctor: credit, to be refunded"
        sent = self._insert(side.contact, [self._line(side.contact.side, form, description)])
        if not sent.ok:
            return None
        self._read_credit(side, sent.value())
        return sent.value()

    def _learn_apply(self, sales: _Side, invoice: LedgerDocument | None) -> None:
        """Apply a credit note to the invoice, then again: what true and false meant."""
        f = self.findings
        if invoice is None or not sales.taken:
            f.evidence["apply_false"] = "not probed: no customer credit note was taken"
            return
        number = next(iter(sales.taken.values()))
        credit = sales.documents.get(number)
        if credit is None or not credit.kashflow_id or not invoice.kashflow_id:
            f.evidence["apply_false"] = "not probed: the internal ids could not be read"
            return
        answer, seen, applied = self._apply(invoice, credit)
        said = f"applying credit note {number} to invoice {invoice.number} {seen}"
        if applied is None:
            f.evidence["apply_false"] = said
        elif answer == "false" and applied:
            f.apply_false = "applied"
            f.evidence["apply_false"] = f"{said}: KashFlow's false is not to be believed"
        elif answer != "true":
            lacking = self._lacking()
            f.evidence["apply_false"] = f"{said}: nothing could be learned" + (
                f" ({lacking}, which KashFlow needs to apply a credit)" if lacking else ""
            )
            if lacking:
                self.notes.append(f"the apply could not be probed: {lacking}")
        else:
            f.apply_true_applied = applied
            if applied:
                again, seen, twice = self._apply(invoice, credit)
                said += f"; applying it again (nothing left to apply) {seen}"
                if again == "false" and twice is not None:
                    f.apply_false = "applied" if twice else "not_applied"
                elif again == "refused":
                    said += ": KashFlow said NO rather than false, so what false means is not known"
            f.evidence["apply_false"] = said

    def _apply(
        self, invoice: LedgerDocument, credit: LedgerDocument
    ) -> tuple[str, str, bool | None]:
        """Apply *credit* to *invoice*: the answer, what was seen, whether it applied.

        The answer is ``"true"``, ``"false"``, ``"refused"`` or ``"failed"``; whether it
        applied is None when the payments could not be read back. An application shows as a
        new payment on the credit note (KashFlow's help: it makes two zero-sum payments).
        """
        before = self.session.exchange(operations.payments("sales", credit.number))
        sent = self.session.exchange(
            operations.apply_credit_note(invoice.kashflow_id, credit.kashflow_id)
        )
        after = self.session.exchange(operations.payments("sales", credit.number))
        if sent.ok:
            answer = "true" if sent.value() else "false"
            said = f"answered {answer}"
        elif _refused(sent):
            answer, said = "refused", f"was refused ('{sent.detail}')"
        else:
            answer, said = "failed", f"failed ({sent.error})"
        if before.error is not None or after.error is not None:
            return answer, f"{said}, and its payments could not be read back", None
        new = {p.kashflow_id for p in after.value()} - {p.kashflow_id for p in before.value()}
        amounts = ", ".join(str(p.amount) for p in after.value() if p.kashflow_id in new)
        seen = f"a payment of {amounts} appeared on it" if new else "no payment appeared on it"
        return answer, f"{said} and {seen}", bool(new)

    def _lacking(self) -> str:
        if not self.lists.bank_accounts.active:
            return "the account has no bank account"
        if not self.lists.sales_payment_methods.active:
            return "the account has no sales payment method"
        return ""


def _nominal(lists: Lists, classification: int) -> int:
    """The first active nominal code of *classification*; 0 ("Other") when there is none."""
    found = [n for n in lists.nominal_codes.active if n.classification_id == classification]
    return found[0].kashflow_id if found else 0
