"""``doctor --probe-writes``: throwaway documents, read back, then deleted.

What it learns needs a receipt KashFlow has stored: how many decimals of a line's ``Rate`` it
keeps and how it rounds them (lines with awkward quantities and rates on a half), whether it
keeps the VAT sent (a line a penny off), whether foreign-currency values are honoured (a second
receipt in another currency, one line marked ``ValuesInCurrency=1`` and one not), and whether
attachments are accepted (a tiny text file). A payment tests the payment path. Then how the
account takes credit notes, on receipts and on invoices (:mod:`.credit`).

Everything hangs off a supplier and a customer doctor creates for the purpose, so cleanup can
find all of it from KashFlow itself even when an answer was lost: every receipt of that
supplier and invoice of that customer, every payment and attachment of those, is doctor's.
Cleanup deletes them children first (payments, attachments, documents, the contact) and keeps
a parent whose children could not be deleted, saying exactly what is left and how to remove it
by hand. Ctrl-C during the probe starts the cleanup; Ctrl-C during the cleanup stops it and
reports what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from .._account.facts import Rounding
from .._account.lists import Lists
from ..soap import operations
from ..soap.records import LedgerDocument, LedgerLine
from .cleanup import Cleanup
from .credit import CreditProbe
from .findings import ProbeFindings
from .model import ProbeItem
from .session import DoctorSession
from .throwaway import Throwaway, create_contact, insert, read_back, vat_of

__all__ = ["ProbeFindings", "WriteProbe"]

log = logging.getLogger("kashflow_sync")

_CENT = Decimal("0.01")
#: Sent with six decimals, so the number kept back shows KashFlow's precision (2, 4 or all).
THIRD = Decimal("33.333333")
#: Rates exactly on a half at 2 and at 4 decimals, one rounding down under half-to-even and
#: one up: together they tell half-up, half-to-even and truncation apart.
HALVES = {2: (Decimal("1.005"), Decimal("1.015")), 4: (Decimal("1.00005"), Decimal("1.00015"))}
_MODES: tuple[tuple[Rounding, str], ...] = (
    ("half_up", ROUND_HALF_UP),
    ("half_even", ROUND_HALF_EVEN),
    ("truncate", ROUND_DOWN),
)
ATTACHMENT = b"kashflow-sync doctor probe: a throwaway file, safe to delete.\n"
ATTACHMENT_NAME = "kashflow-sync-doctor.txt"


def _line(description: str, quantity: Decimal, rate: Decimal, **more: Any) -> dict[str, Any]:
    return {"Description": description, "Quantity": quantity, "Rate": rate, **more}


class WriteProbe:
    """One run of the write probe: :meth:`run` it, then read ``findings`` and ``items``.

    Args:
        session: the doctor's session, with writes allowed.
        lists: the lists of the throwaway sync (VAT rates, nominal codes, currencies...).
        today: the date to put on the receipts and the payment.
        stamp: makes the throwaway names unique, e.g. ``"20261102-101500"``.

    """

    def __init__(self, session: DoctorSession, lists: Lists, *, today: date, stamp: str) -> None:
        """Prepare the probe; nothing is sent until :meth:`run`."""
        self.session = session
        self.lists = lists
        self.today = today
        name = f"kashflow-sync doctor probe {stamp} (safe to delete)"
        self.supplier = Throwaway("purchase", name)
        self.customer = Throwaway("sales", name)
        self.reference = f"KFSYNC-DOCTOR-{stamp}"
        self.findings = ProbeFindings()
        self.notes: list[str] = []
        self.items: list[ProbeItem] = []
        self.interrupted = False
        self._cleanup: Cleanup | None = None
        self._vat_rate = self._pick_vat_rate()
        self._charge_type = self._pick_nominal()

    # -- choices from the lists ---------------------------------------------------------------

    def _pick_vat_rate(self) -> Decimal:
        rates = [v.rate for v in self.lists.vat_rates.active]
        if Decimal(20) in rates:
            return Decimal(20)
        positive = sorted((r for r in rates if r > 0), reverse=True)
        return positive[0] if positive else (rates[0] if rates else Decimal(0))

    def _pick_nominal(self) -> int:
        # An expense code, as a purchase would use; 0 ("Other") when the chart has none.
        expenses = [n for n in self.lists.nominal_codes.active if n.classification_id == 3]
        return expenses[0].kashflow_id if expenses else 0

    # -- the probe ----------------------------------------------------------------------------

    def run(self) -> None:
        """Create, read back and delete; Ctrl-C starts the cleanup early (never skips it)."""
        try:
            self._create_and_learn()
        except KeyboardInterrupt:
            self.interrupted = True
            self.notes.append("interrupted (Ctrl-C) while probing: cleaning up what was made")
        finally:
            self._clean_up()

    def _create_and_learn(self) -> None:
        made = create_contact(self.session, self.supplier)
        if made.error is not None:
            if made.status is not None:
                self.findings.contact_without_code = False
            self.findings.evidence["contact_without_code"] = (
                f"InsertSupplier without a Code failed: {made.error}"
            )
            self.notes.append(f"could not create the throwaway supplier: {made.error}")
            return
        self.findings.contact_without_code = True
        self.findings.evidence["contact_without_code"] = (
            "InsertSupplier without a Code was accepted"
        )
        home = self._insert(self._home_lines(), currency=None)
        if home is not None:
            self._attach(home)
            document = self._read(home)
            if document is not None:
                self._learn_rates(document)
                self._pay(home, document)
            self._probe_currency()
        CreditProbe(
            self.session,
            self.lists,
            self.findings,
            self.notes,
            supplier=self.supplier,
            customer=self.customer,
            reference=self.reference,
            today=self.today,
            vat_rate=self._vat_rate,
            purchase_nominal=self._charge_type,
        ).run(receipt_taken=home is not None)

    def _home_currency(self) -> str:
        home = next((c for c in self.lists.currencies.active if c.is_default), None)
        return home.code if home is not None else ""

    def _home_lines(self) -> list[dict[str, Any]]:
        rate = self._vat_rate
        lines = [
            _line("doctor: 100.00 x 3", Decimal(3), THIRD, VatAmount=vat_of(Decimal(100), rate))
        ]
        for places, pair in HALVES.items():
            for which, value in zip(("down", "up"), pair, strict=True):
                lines.append(
                    _line(
                        f"doctor: half at {places} dp ({which})",
                        Decimal(1),
                        value,
                        VatAmount=vat_of(value, rate),
                    )
                )
        if rate > 0:
            off = vat_of(Decimal(10), rate) + _CENT
            lines.append(_line("doctor: VAT a penny off", Decimal(1), Decimal(10), VatAmount=off))
        for line in lines:
            line.update(VatRate=rate, ChargeType=self._charge_type)
        return lines

    def _insert(
        self,
        lines: Sequence[dict[str, Any]],
        *,
        currency: str | None,
        exchange_rate: Decimal | None = None,
    ) -> int | None:
        sent = insert(
            self.session,
            self.supplier,
            reference=self.reference,
            today=self.today,
            lines=lines,
            currency=currency,
            exchange_rate=exchange_rate,
        )
        if sent.error is not None:
            # A lost answer may still have made it; the cleanup finds it through the supplier.
            self.notes.append(
                f"could not create a {currency or 'home'}-currency receipt: {sent.error}"
            )
            return None
        return sent.value()

    def _read(self, number: int) -> LedgerDocument | None:
        found = read_back(self.session, self.supplier, number)
        if found.error is not None or found.result is None:
            self.notes.append(f"could not read receipt {number} back: {found.error}")
            return None
        return found.result

    def _attach(self, number: int) -> None:
        sent = self.session.exchange(
            operations.attach_file("purchase", number, ATTACHMENT_NAME, ATTACHMENT, "text/plain")
        )
        if sent.error is None:
            self.findings.attachments_accepted = True
            self.findings.evidence["attachments"] = "AttachFileToReceipt accepted a 64-byte file"
            return
        if sent.status is not None and sent.status.upper() == "NO":
            self.findings.attachments_accepted = False
            self.findings.attachment_refusal = sent.detail
            self.findings.evidence["attachments"] = f"AttachFileToReceipt refused: '{sent.detail}'"
        else:
            self.findings.evidence["attachments"] = f"AttachFileToReceipt failed: {sent.error}"

    def _pay(self, number: int, document: LedgerDocument) -> None:
        methods = self.lists.purchase_payment_methods.active
        banks = self.lists.bank_accounts.active
        if not methods or not banks or document.gross <= 0:
            self.notes.append(
                "no payment probed: the account has no purchase payment method or bank"
            )
            return
        sent = self.session.exchange(
            operations.insert_payment(
                "purchase",
                number,
                paid_on=self.today,
                method_id=methods[0].kashflow_id,
                account_id=banks[0].kashflow_id,
                amount=document.gross,
                note="kashflow-sync doctor probe",
            )
        )
        if sent.error is not None:
            self.notes.append(f"the payment was refused: {sent.error}")

    # -- what the receipts say ----------------------------------------------------------------

    def _learn_rates(self, document: LedgerDocument) -> None:
        lines = {line.description: line for line in document.lines}
        third = lines.get("doctor: 100.00 x 3")
        f = self.findings
        if third is None:
            f.evidence["rate_decimals"] = "the receipt came back without doctor's lines"
            return
        kept = third.rate
        places = max(0, -int(kept.normalize().as_tuple().exponent))
        if kept == THIRD:
            f.rate_decimals = 6
        elif places < 6 and kept == THIRD.quantize(Decimal(1).scaleb(-places), ROUND_DOWN):
            f.rate_decimals = places
        net = (third.rate * third.quantity).quantize(_CENT, ROUND_HALF_UP)
        f.evidence["rate_decimals"] = (
            f"Rate {THIRD} x 3 came back as {kept} x {third.quantity} (net {net}; receipt "
            f"net {document.net})"
        )
        self._learn_rounding(lines)
        self._learn_vat(lines.get("doctor: VAT a penny off"))

    def _learn_rounding(self, lines: dict[str, LedgerLine]) -> None:
        f = self.findings
        places = f.rate_decimals
        if places not in HALVES:
            f.evidence["rounding"] = f"nothing to tell: KashFlow kept {places} decimals"
            return
        assert places is not None
        down = lines.get(f"doctor: half at {places} dp (down)")
        up = lines.get(f"doctor: half at {places} dp (up)")
        if down is None or up is None:
            return
        step = Decimal(1).scaleb(-places)
        sent = HALVES[places]
        for name, mode in _MODES:
            if (down.rate, up.rate) == tuple(v.quantize(step, mode) for v in sent):
                f.rounding = name
        f.evidence["rounding"] = f"{sent[0]} and {sent[1]} came back as {down.rate} and {up.rate}"

    def _learn_vat(self, line: LedgerLine | None) -> None:
        f = self.findings
        if line is None:
            f.evidence["recompute_vat"] = "not probed: the account has no VAT rate above 0"
            return
        sent = vat_of(Decimal(10), self._vat_rate) + _CENT
        computed = vat_of((line.rate * line.quantity).quantize(_CENT), line.vat_rate)
        if line.vat_amount == sent:
            f.recompute_vat = False
        elif line.vat_amount == computed:
            f.recompute_vat = True
        f.evidence["recompute_vat"] = (
            f"VatAmount {sent} on a 10.00 line came back as {line.vat_amount}"
        )

    def _probe_currency(self) -> None:
        f = self.findings
        home = self._home_currency()
        foreign = [c for c in self.lists.currencies.active if not c.is_default and c.code != home]
        if not foreign:
            f.evidence["values_in_currency"] = "not probed: the account has only one currency"
            return
        currency = foreign[0]
        rate = currency.exchange_rate if currency.exchange_rate not in (0, 1) else Decimal("1.25")
        vat = vat_of(Decimal(10), self._vat_rate)
        common = {"VatRate": self._vat_rate, "VatAmount": vat, "ChargeType": self._charge_type}
        lines = [
            _line(
                "doctor: in currency, flagged",
                Decimal(1),
                Decimal(10),
                ValuesInCurrency=1,
                **common,
            ),
            _line("doctor: in currency, not flagged", Decimal(1), Decimal(10), **common),
        ]
        receipt = self._insert(lines, currency=currency.code, exchange_rate=rate)
        document = self._read(receipt) if receipt is not None else None
        if document is None:
            f.evidence["values_in_currency"] = f"could not read a {currency.code} receipt back"
            return
        got = {line.description: line.rate for line in document.lines}
        flagged = got.get("doctor: in currency, flagged")
        plain = got.get("doctor: in currency, not flagged")
        f.evidence["values_in_currency"] = (
            f"on a {currency.code} receipt (rate {rate}) Rate 10.00 came back as {flagged} with "
            f"ValuesInCurrency=1 and {plain} without"
        )
        f.currency_in_flagged_line_kept = flagged == Decimal(10)
        if flagged == Decimal(10):
            f.values_in_currency = plain != Decimal(10)

    # -- cleanup ------------------------------------------------------------------------------

    def _clean_up(self) -> None:
        """Delete everything made, children first; record what is left and how to remove it."""
        try:
            self._sweep()
        except KeyboardInterrupt:
            self.interrupted = True
            self.notes.append("cleanup interrupted (Ctrl-C): see what is left below")
            self._mark_rest_left("cleanup interrupted (Ctrl-C) before it got here")

    def _sweep(self) -> None:
        cleanup = Cleanup(self.session, self.items, self.reference)
        self._cleanup = cleanup
        cleanup.run([self.supplier, self.customer])

    def _mark_rest_left(self, reason: str) -> None:
        if self._cleanup is not None:
            self._cleanup.mark_rest_left(reason)
