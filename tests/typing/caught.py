"""Mistakes mypy --strict must catch: each line marked as a mistake has to be an error."""

from datetime import date
from decimal import Decimal

import httpx

import kashflow_sync as kfs

line = kfs.Line(net=45.0)  # mistake: float money
line = kfs.Line(net=Decimal("45.00"), vat=9.0)  # mistake: float VAT
payment = kfs.Payment(amount=12.5)  # mistake: float payment
rule = kfs.Rule(vat_rate=17.5)  # mistake: float VAT rate on a rule
doc = kfs.PurchaseInvoice(  # mistake: a purchase's kind is fixed, "kind" is no argument
    external_id="x",
    supplier="Acme",
    reference="R",
    issue_date=date(2026, 1, 1),
    lines=[],
    kind="sales",
)
result = kfs.PublishResult(
    external_id="x",
    kind="refund",  # mistake: kind is purchase or sales
    number=1,
    kashflow_id=2,
    status="published",
)
problem = kfs.Problem(
    code="unknwn_category",  # mistake: not a problem code
    field="lines[0].category",
    message="m",
    remedy="r",
)
notice = kfs.Problem(
    code="new_supplier",
    field="supplier",
    message="m",
    remedy="r",
    severity="info",  # mistake
)

error = kfs.errors.TransientError("x", code="timout")  # mistake: not an error code
code = kfs.ErrorCode.TIMOUT  # mistake: no such code


def ages(client: kfs.KashFlowClient) -> None:
    client.journal(older_than=3600)  # mistake: an age is a timedelta (or a datetime)


def wrong_http_clients(credentials: kfs.Credentials) -> None:
    kfs.KashFlowClient(credentials, http_client=httpx.AsyncClient())  # mistake: sync takes a Client
    kfs.AsyncKashFlowClient(credentials, http_client=httpx.Client())  # mistake
