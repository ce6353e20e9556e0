"""Helpers shared by the tests (imported as a plain module: tests/ is on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx

import kashflow_sync as kfs
from kashflow_sync._retry import RetryPolicy
from kashflow_sync.testing import FakeKashFlow

#: No settle time: the fake applies writes at once (tests of settling pass their own).
NO_SETTLE = timedelta(0)

#: Retries without waiting, so no test sleeps.
FAST_RETRY = RetryPolicy.no_wait(max_retries=2)

#: The tests' root folder, where the shared helpers live.
_TESTS = Path(__file__).resolve().parent


def make_client(
    fake: FakeKashFlow, http: httpx.Client | None = None, **kw: object
) -> kfs.KashFlowClient:
    """A client for *fake* (in-process unless *http* says otherwise) that never sleeps."""
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("app_name", "kashflow_sync tests")
    # The fake applies a write at once or never (unless late_apply is injected): no settling.
    kw.setdefault("settle_time", NO_SETTLE)
    credentials = kw.pop("credentials", fake.credentials)
    return kfs.KashFlowClient(
        credentials,  # type: ignore[arg-type]
        endpoint=fake.url,
        http_client=http or fake.http_client(),
        **kw,  # type: ignore[arg-type]
    )


def purchase(
    i: int, *, prefix: str = "doc", attach: bool = True, pay: bool = True
) -> kfs.PurchaseInvoice:
    """A two-line purchase invoice, numbered *i*, with attachment and payment by default."""
    from datetime import date
    from decimal import Decimal

    return kfs.PurchaseInvoice(
        external_id=f"{prefix}-{i}",
        supplier="Acme Paper Ltd",
        reference=f"{prefix.upper()}-INV-{i:05d}",
        issue_date=date(2026, 11, 1 + i % 28),
        lines=[
            kfs.Line(
                description="Paper",
                net=Decimal("100.00") + i,
                vat_rate=Decimal("20"),
                category=7500,
            ),
            kfs.Line(
                description="Train", net=Decimal("12.50"), vat_rate=Decimal("0"), category=7400
            ),
        ],
        attachment=kfs.Attachment(f"inv-{i}.pdf", b"%PDF-1.4 " + str(i).encode(), "application/pdf")
        if attach
        else None,
        payment=kfs.Payment(method="Credit card", bank_account=1200) if pay else None,
    )


def ledger_check(fake: FakeKashFlow, docs: list[kfs.PurchaseInvoice]) -> tuple[int, int]:
    """(duplicates, lost) of *docs* in the fake: receipts, attachments and payments alike."""
    by_reference: dict[str, int] = {}
    for receipt in fake.receipts:
        key = receipt.customer_reference or ""
        by_reference[key] = by_reference.get(key, 0) + 1
    wanted = {d.reference for d in docs}
    duplicates = sum(n - 1 for ref, n in by_reference.items() if ref in wanted and n > 1)
    lost = sum(1 for ref in wanted if ref not in by_reference)
    numbers = {r.customer_reference: r.invoice_number for r in fake.receipts}
    attachments: dict[int, int] = {}
    for a in fake.attachments:
        attachments[a.document_number] = attachments.get(a.document_number, 0) + 1
    payments: dict[int, int] = {}
    for p in fake.payments:
        payments[p.pay_invoice] = payments.get(p.pay_invoice, 0) + 1
    for d in docs:
        number = numbers.get(d.reference)
        if number is None:
            continue
        if d.attachment is not None:
            n = attachments.get(number, 0)
            duplicates += max(0, n - 1)
            lost += n == 0
        if d.payment is not None:
            n = payments.get(number, 0)
            duplicates += max(0, n - 1)
            lost += n == 0
    return duplicates, lost


def spawn_worker(script: Path, fake: FakeKashFlow, db: str, *args: str) -> subprocess.Popen[str]:
    """Start the test worker *script* against *fake* and the journal *db*, with *args* after.

    Its arguments are the fake's URL and credentials, then *db*, then *args*.
    """
    creds = fake.credentials
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            fake.url,
            creds.username,
            creds.password,
            creds.autoauth_key or "",
            db,
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=script.parent,
        # The workers import this module and their tests' helpers: both folders on the path.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(_TESTS), str(script.parent)])},
    )


def worker_result(proc: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    """The JSON line a test worker printed last; the worker must have exited 0.

    A worker still running after *timeout* seconds is killed before the test fails, so it
    holds no lock, file or lease that a later test would wait on.
    """
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the worker ran over {timeout} s and was killed: {err}") from None
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def requirement_closure(project: str, extras: set[str]) -> set[str]:
    """Normalised names of *project* and every distribution it requires with *extras*,
    transitively, as installed here (an extra naming the project's own extras included)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [(project, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        seen.add(canonicalize_name(name))
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            markers = [{"extra": extra} for extra in wanted or {""}]
            if req.marker is not None and not any(req.marker.evaluate(m) for m in markers):
                continue
            if canonicalize_name(req.name) == canonicalize_name(name):  # pkg[test] in [dev]
                todo.append((name, frozenset(req.extras)))
            elif canonicalize_name(req.name) not in seen:
                todo.append((req.name, frozenset(req.extras)))
    return seen
