"""The receipt every worker benchmark publishes, as source text.

The workers of ``bench_engine.py``, ``bench_storage.py`` and ``bench_otel.py`` (its script is in
``_otel_workers.py``) run with ``-c`` against a source tree of their choosing (a baseline
commit's, for a before/after in one run), so they cannot import this folder: each splices
:data:`RECEIPT` into its script instead. It
defines ``receipt(external_id)``: a purchase invoice with two lines, an attachment and a
payment (the names ``kfs``, ``date`` and ``Decimal`` must be imported before it).
"""

RECEIPT = r"""
def receipt(external_id):
    return kfs.PurchaseInvoice(
        external_id=external_id, supplier="Acme Paper Ltd", reference=external_id,
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(description="Paper", net=Decimal("100.00"), vat_rate=Decimal("20"),
                        category=7500),
               kfs.Line(description="Train", net=Decimal("12.50"), vat_rate=Decimal("0"),
                        category=7400)],
        attachment=kfs.Attachment("inv.pdf", b"%PDF-1.4 x" * 100, "application/pdf"),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )
"""
