"""``kashflow-sync demo``: the whole flow against a fake KashFlow served on this machine.

It connects with AutoAuth, syncs the lists, sets a supplier rule, shows validation catching a
document's problems offline (a misspelt supplier among them), publishes a purchase invoice (two
lines, an attachment, a payment) and a sales invoice, proves a second publish is a no-op,
publishes credit notes (one applied to the invoice it credits), publishes again a document
deleted in KashFlow, then changes the account and shows what a refresh reports. Every step
goes over real HTTP on loopback, through the same code a real account uses.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from .._account.items import SyncReport
from .._clients.sync_client import KashFlowClient
from .._documents.model import (
    Attachment,
    Line,
    Payment,
    PublishResult,
    PurchaseCreditNote,
    PurchaseInvoice,
    Rule,
    SalesCreditNote,
    SalesInvoice,
)
from .._retry import RetryPolicy
from ._output import Console, show_problems, sync_progress

if TYPE_CHECKING:
    from ..testing import FakeKashFlow

__all__ = ["DEMO_APP_NAME", "run_demo"]

#: The name KashFlow shows beside the IP address the demo's AutoAuth call adds.
DEMO_APP_NAME = "kashflow-sync demo"

#: What Dext calls the lists KashFlow has under other names.
_DEXT_WORDS = {"nominal_codes": "categories", "projects": "classes"}

# A one-page PDF, so the attachment is a real file a viewer would open.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _gbp(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


def run_demo(console: Console | None = None) -> int:
    """Run the demo, printing to *console* (stdout by default); returns the exit code 0."""
    from ..testing import FakeKashFlow

    console = console or Console()
    started = time.perf_counter()
    with FakeKashFlow.serve() as fake:
        _intro(console, fake)
        with KashFlowClient(
            fake.credentials,
            app_name=DEMO_APP_NAME,
            endpoint=fake.url,
            retry=RetryPolicy.no_wait(),
        ) as client:
            _connect(console, client, fake)
            _show_lists(console, client)
            _set_rule(console, client)
            _validate(console, client, fake)
            purchase = _purchase_invoice()
            _explain(console, client, purchase)
            results = _publish(console, client, purchase, _sales_invoice())
            _show_ledger(console, fake)
            _publish_again(console, client, fake, purchase)
            _history(console, client, results[0])
            _credit_notes(console, client, fake)
            _forget(console, client, fake, purchase)
            _refresh(console, client, fake)
    console.heading("Done")
    console.ok(f"The whole tour took {time.perf_counter() - started:.1f}s.")
    console.print("  Next: connect a real account with `kashflow-sync connect` (see the")
    console.print("  Getting started guide), or use the fake in your own tests through the")
    console.print("  kashflow_fake and kashflow_client pytest fixtures.")
    return 0


def _intro(console: Console, fake: FakeKashFlow) -> None:
    title = "kashflow-sync demo"
    console.print(console.styled(title, "bold"))
    console.print(console.styled("═" * len(title), "bold"))
    console.print("A tour of kashflow-sync against a fake KashFlow account served on this")
    console.print(f"machine at {fake.url}.")
    console.print("It speaks KashFlow's SOAP API over HTTP; no real account is touched.")


def _connect(console: Console, client: KashFlowClient, fake: FakeKashFlow) -> None:
    console.heading("1. Connect with AutoAuth")
    console.step(f"Credentials: {client.credentials!r}")
    before = len(fake.allowed_ips)
    console.step(
        "KashFlow's API access list before connecting: "
        + (f"{before} address(es)" if before else "empty")
    )
    console.step(
        f"AutoAuthIP: asking KashFlow to add this machine's IP, commented {DEMO_APP_NAME!r}"
    )
    progress, finish = sync_progress(console, "syncing lists")
    report = client.connect(progress=progress)
    finish()
    console.ok(f"Connected in {report.duration:.2f}s. KashFlow's API access list now holds:")
    for ip, comment in fake.allowed_ips.items():
        console.detail(ip, comment, width=16)


def _show_lists(console: Console, client: KashFlowClient) -> None:
    console.heading("2. Lists synced from KashFlow")
    rows = []
    for name in (
        "nominal_codes",
        "suppliers",
        "customers",
        "projects",
        "purchase_payment_methods",
        "sales_payment_methods",
        "bank_accounts",
        "vat_rates",
        "currencies",
    ):
        items = client.lists.get(name)
        archived = len(items) - len(items.active)
        rows.append((name, _DEXT_WORDS.get(name, ""), len(items), archived or ""))
    console.table(("list", "Dext calls it", "items", "archived"), rows, align="llrr")
    suppliers = ", ".join(f"{s.name} ({s.code})" for s in client.lists.suppliers)
    console.print()
    console.detail("suppliers", suppliers)
    rates = ", ".join(f"{r.rate}%" for r in client.lists.vat_rates)
    console.detail("VAT rates", f"{rates} (-1 means exempt / not applicable)")
    console.detail("locations", "none: KashFlow has no locations, so a document naming one")
    console.detail("", "is reported (unsupported_location) rather than silently dropped")


def _set_rule(console: Console, client: KashFlowClient) -> None:
    console.heading("3. A supplier rule")
    rule = Rule(
        category=7500,
        vat_rate=Decimal("20"),
        payment_method="Credit card",
        bank_account=1200,
        due_days=30,
    )
    client.rules.set_supplier_rule("Acme Paper Ltd", rule)
    nominal = client.lists.nominal_codes.find(7500)
    bank = client.lists.bank_accounts.find(1200)
    console.ok("Documents from Acme Paper Ltd now default to:")
    console.detail("category", f"7500 {nominal.name if nominal else ''}")
    console.detail("VAT rate", "20%")
    console.detail("payment", f"Credit card from 1200 {bank.name if bank else ''}")
    console.detail("due", "30 days after the invoice date")
    console.print("  What a document says always wins; the rule only fills what it leaves blank.")


def _validate(console: Console, client: KashFlowClient, fake: FakeKashFlow) -> None:
    console.heading("4. Validation, offline, every problem at once")
    doc = PurchaseInvoice(
        external_id="dext-item-1000",
        supplier="Acme Paper Ltd",
        reference="INV-0999",
        issue_date=date(2026, 11, 1),
        location="Leeds",
        lines=[
            Line(description="Desk", net=Decimal("250.00"), vat_rate=Decimal("17.5")),
            Line(
                description="Fitting",
                net=Decimal("80.00"),
                vat=Decimal("96.00"),
                category=9999,
                project=3,
            ),
        ],
        attachment=Attachment("scan.xlsx", b"PK\x03\x04", "application/vnd.ms-excel"),
    )
    console.step(
        f"Validating {doc.external_id}: Acme Paper Ltd, {doc.reference}, two lines, "
        "a location, an Excel attachment"
    )
    calls_before = len(fake.calls)
    problems = client.validate(doc)
    sent = len(fake.calls) - calls_before
    console.fail(f"{len(problems)} problems found, with {sent} requests sent to KashFlow:")
    show_problems(console, problems)
    misspelt = attrs.evolve(_purchase_invoice(), supplier="Acme Papr Ltd")
    console.print()
    console.step("A misspelt supplier, 'Acme Papr Ltd', is a question for a person, not a new one:")
    show_problems(console, [p for p in client.validate(misspelt) if p.field == "supplier"])


def _purchase_invoice() -> PurchaseInvoice:
    return PurchaseInvoice(
        external_id="dext-item-1001",
        supplier="Acme Paper Ltd",
        reference="INV-1001",
        issue_date=date(2026, 11, 2),
        lines=[
            Line(
                description="A4 paper, 10 reams",
                net=Decimal("45.00"),
                vat=Decimal("9.00"),
                vat_rate=Decimal("20"),
                category=7500,
                quantity=Decimal("10"),
            ),
            Line(description="Printer toner", net=Decimal("120.00"), project=1),
        ],
        attachment=Attachment("INV-1001.pdf", _PDF, "application/pdf"),
        payment=Payment(paid_on=date(2026, 11, 3)),
    )


def _sales_invoice() -> SalesInvoice:
    return SalesInvoice(
        external_id="dext-sale-77",
        customer="Bloggs & Co",
        reference="PO-77",
        issue_date=date(2026, 11, 4),
        due_date=date(2026, 12, 4),
        lines=[
            Line(
                description="Website redesign, phase 1",
                net=Decimal("1500.00"),
                vat_rate=Decimal("20"),
                category=4000,
                project=1,
            )
        ],
    )


def _explain(console: Console, client: KashFlowClient, doc: PurchaseInvoice) -> None:
    console.heading("5. What the rule filled in")
    resolved = client.resolve(doc)
    console.step(
        f"{doc.external_id}: {doc.supplier} {doc.reference}; line 2 gives only text, net and "
        "project"
    )
    filled = [(f, source) for f, source in sorted(resolved.explain.items()) if source != "document"]
    console.table(("field", "set by"), filled)
    others = len(resolved.explain) - len(filled)
    console.print(f"  The other {others} fields came from the document itself.")


def _publish(
    console: Console, client: KashFlowClient, purchase: PurchaseInvoice, sale: SalesInvoice
) -> list[PublishResult]:
    console.heading("6. Publish, exactly once")
    results = []
    for doc, what in ((purchase, "receipt"), (sale, "sales invoice")):
        gross = client.resolve(doc).document.gross
        result = client.publish(doc)
        results.append(result)
        console.ok(
            f"{doc.external_id} -> {what} {result.number} (KashFlow id {result.kashflow_id}), "
            f"{_gbp(gross)} incl. VAT"
        )
        if doc.attachment is not None:
            console.detail("attachment", f"{doc.attachment.filename} attached")
        if doc.payment is not None:
            console.detail("payment", f"{_gbp(gross)} recorded")
    return results


def _show_ledger(console: Console, fake: FakeKashFlow) -> None:
    console.heading("7. What the KashFlow ledger now holds")
    codes = {n.id: n.code for n in fake.nominal_codes}
    projects = {p.id: p.number for p in fake.projects}
    for index, record in enumerate([*fake.receipts, *fake.invoices]):
        if index:
            console.print()
        what = "Receipt" if record.kind == "receipt" else "Invoice"
        console.print(
            "  ",
            console.styled(f"{what} {record.invoice_number}", "bold"),
            f"  {record.customer_name} ({record.customer})  ref {record.customer_reference}  "
            f"{record.invoice_date:%d %b %Y}",
        )
        rows = [
            (
                line.description or "",
                f"{line.quantity.normalize():f}",
                f"{line.rate:.2f}",
                f"{line.vat_rate.normalize():f}%",
                f"{line.vat_amount:.2f}",
                codes.get(line.charge_type, line.charge_type),
                projects.get(line.proj_id, "") if line.proj_id else "",
            )
            for line in record.lines
        ]
        console.table(
            ("line", "qty", "unit", "VAT rate", "VAT", "nominal", "project"),
            rows,
            align="lrrrrrr",
            indent=4,
        )
        paid = ", ".join(
            f"{_gbp(p.pay_amount)} on {p.pay_date:%d %b %Y}"
            for p in fake.payments
            if p.kind == record.kind and p.pay_invoice == record.invoice_number
        )
        files = ", ".join(
            f"{a.filename} ({a.file_size} bytes)"
            for a in fake.attachments
            if a.kind == record.kind and a.document_number == record.invoice_number
        )
        console.detail("net / VAT", f"{_gbp(record.net_amount)} / {_gbp(record.vat_amount)}")
        console.detail("paid", paid or "not yet")
        if files:
            console.detail("attachment", files)


def _publish_again(
    console: Console, client: KashFlowClient, fake: FakeKashFlow, purchase: PurchaseInvoice
) -> None:
    console.heading("8. Publishing the same document again")
    calls_before = len(fake.calls)
    result = client.publish(purchase)
    sent = len(fake.calls) - calls_before
    console.ok(f"{purchase.external_id}: status {result.status!r}, still receipt {result.number}")
    console.detail("sent", f"{sent} requests; the ledger holds {len(fake.receipts)} receipt")
    console.print("  The publish journal makes this true across retries, lost responses,")
    console.print("  crashes and several workers sharing one PostgreSQL database.")


def _history(console: Console, client: KashFlowClient, result: PublishResult) -> None:
    rows = [(a.step, a.outcome, a.detail) for a in client.publish_history(result.external_id)]
    console.print()
    console.step(f"Journal of {result.external_id} (client.publish_history):")
    console.table(("step", "outcome", "detail"), rows, indent=4)


def _credit_notes(console: Console, client: KashFlowClient, fake: FakeKashFlow) -> None:
    console.heading("9. Credit notes")
    sale_credit = SalesCreditNote(
        external_id="dext-sale-77-credit",
        customer="Bloggs & Co",
        reference="CR-77",
        issue_date=date(2026, 11, 20),
        lines=[
            Line(
                description="Phase 1 discount",
                net=Decimal("300.00"),
                vat_rate=Decimal("20"),
                category=4000,
            )
        ],
        credits="dext-sale-77",
    )
    result = client.publish(sale_credit)
    invoice = fake.invoice(fake.invoices[0].number)
    console.ok(f"{sale_credit.external_id} -> credit note {result.number} (an invoice, negative)")
    console.detail(
        "applied",
        f"{result.applied}: invoice {invoice.number if invoice else '?'} now has "
        f"{_gbp(invoice.amount_paid if invoice else Decimal(0))} credited against it",
    )
    returned = PurchaseCreditNote(
        external_id="dext-item-1001-return",
        supplier="Acme Paper Ltd",
        reference="CN-1001",
        issue_date=date(2026, 11, 21),
        lines=[Line(description="Toner sent back", net=Decimal("60.00"), project=1)],
        credits="dext-item-1001",
    )
    result = client.publish(returned)
    console.ok(f"{returned.external_id} -> supplier credit note (receipt {result.number})")
    for notice in result.notices:
        console.warn(notice.message)
        console.wrapped(notice.remedy, indent=4, prefix=console.styled("→ ", "cyan"))


def _forget(
    console: Console, client: KashFlowClient, fake: FakeKashFlow, purchase: PurchaseInvoice
) -> None:
    console.heading("10. Deleted in KashFlow, published again")
    number = client.publish(purchase).number
    for payment in [p for p in fake.payments if p.kind == "receipt" and p.pay_invoice == number]:
        fake._delete_payment("receipt", payment.kashflow_id)
    fake._delete_document("receipt", number)
    console.step(f"In KashFlow: receipt {number} deleted (it was published wrongly, say)")
    summary = client.forget(purchase.external_id)
    console.ok(f"client.forget: KashFlow confirmed it gone; the journal says {summary.state!r}")
    again = client.publish(purchase)
    console.ok(
        f"{purchase.external_id} published again as receipt {again.number}: {again.status!r}"
    )


def _refresh(console: Console, client: KashFlowClient, fake: FakeKashFlow) -> None:
    console.heading("11. KashFlow changes; refresh the lists")
    fake.remove_supplier("RAIL01")
    fake.rename_nominal_code(7502, "Telephone and internet")
    fake.add_project(4, "Shop fit-out", reference="SHOP")
    console.step("In KashFlow: City Rail Ltd deleted, nominal 7502 renamed, project 4 added")
    progress, finish = sync_progress(console, "refreshing")
    report = client.refresh_lists(progress=progress)
    finish()
    _print_diff(console, report)
    gone = client.lists.suppliers.find("RAIL01")
    if gone is not None:
        console.print()
        state = "kept, marked archived" if gone.archived else "kept"
        console.detail("City Rail Ltd", f"{state}: rules and history pointing at it keep")
        console.detail("", "working, and validation flags it before a publish would fail")
    renamed = client.lists.nominal_codes.find(7502)
    if renamed is not None:
        console.detail("nominal 7502", f"now {renamed.name!r}")
    project = client.lists.projects.find(4)
    if project is not None:
        console.detail("project 4", f"{project.name!r} ready to use")


def _print_diff(console: Console, report: SyncReport) -> None:
    rows = [
        (name, c.added, c.changed, c.archived, c.unchanged)
        for name, c in report.lists.items()
        if c.added or c.changed or c.archived
    ]
    unchanged = [n for n, c in report.lists.items() if not (c.added or c.changed or c.archived)]
    console.ok(f"Refreshed in {report.duration:.2f}s; what changed:")
    console.table(("list", "added", "changed", "archived", "unchanged"), rows, align="lrrrr")
    console.wrapped(f"Unchanged: {', '.join(unchanged)}.", indent=2)
