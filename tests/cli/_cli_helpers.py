"""Plain helpers the CLI tests share: the console script, document files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def console_script() -> list[str]:
    """The installed ``kashflow-sync`` script, or ``python -m kashflow_sync.cli`` without one."""
    script = Path(sys.executable).with_name("kashflow-sync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kashflow_sync.cli"]


def write_doc(folder: Path, data: Any, name: str = "doc.json") -> Path:
    """Write *data* as the JSON document file *folder*/*name*."""
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def one_line_purchase(external_id: str = "item-1", **changes: Any) -> dict[str, Any]:
    """The smallest purchase invoice file's data: one line, no attachment, no payment."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "supplier": "Acme Paper Ltd",
        "reference": f"INV-{external_id}",
        "issue_date": "2026-11-02",
        "lines": [{"net": "100.00", "vat_rate": "20", "category": 7500}],
    }
    data.update(changes)
    return data


def purchase(external_id: str = "item-1", **changes: Any) -> dict[str, Any]:
    """A purchase invoice file's data: two lines, an attachment and a card payment."""
    doc: dict[str, Any] = {
        "external_id": external_id,
        "supplier": "Acme Paper Ltd",
        "reference": f"INV-{external_id}",
        "issue_date": "2026-11-02",
        "lines": [
            {"description": "Paper", "net": "100.00", "vat_rate": "20", "category": 7500},
            {
                "description": "Toner",
                "net": "40.00",
                "vat": "8.00",
                "vat_rate": "20",
                "category": 7500,
                "project": 1,
            },
        ],
        "attachment": {"path": "inv.pdf", "content_type": "application/pdf"},
        "payment": {"method": "Credit card", "bank_account": 1200, "paid_on": "2026-11-03"},
    }
    doc.update(changes)
    return doc
