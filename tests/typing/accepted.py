"""What mypy --strict must accept: exact money, catalogue codes, typed batch errors."""

from datetime import timedelta
from decimal import Decimal

import kashflow_sync as kfs
from kashflow_sync.celery import PublishTaskResult

lines = [
    kfs.Line(net=Decimal("45.00"), vat=Decimal("9.00"), vat_rate=20),
    kfs.Line(net=45, quantity=2),
    kfs.Line(net="45.00", vat_rate="17.5"),
]
problem = kfs.Problem(code="unknown_category", field="lines[0].category", message="m", remedy="r")
code: kfs.ProblemCode = problem.code
error = kfs.errors.TransientError("x", code=kfs.ErrorCode.TIMEOUT)
matched: bool = error.code == "timeout" and error.code is kfs.ErrorCode.http_status(503)
item = kfs.BatchItem("x")
if item.error is not None:
    remedy: str = item.error.remedy  # a KashFlowError: no cast needed
creds: kfs.Credentials = kfs.Credentials.from_env({"KASHFLOW_USERNAME": "u"})
data: dict[str, object] = kfs.document_to_json(
    kfs.document_from_json({"external_id": "x", "supplier": "s", "issue_date": "2026-01-01"})
)


def stuck(client: kfs.KashFlowClient) -> list[str]:
    """The operator's view is typed: a state, an age, and each row's fields."""
    rows = client.journal(["sending", "created"], older_than=timedelta(hours=1), limit=50)
    return [f"{r.external_id} {r.state} {r.number} {r.last_error} {r.remedy}" for r in rows]


def task_number(result: PublishTaskResult) -> int | None:
    """A publish task's result is a TypedDict: its keys are known to mypy."""
    return result["number"] if result["error"] is None else None
