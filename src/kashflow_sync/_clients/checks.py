"""The clients' argument checks: each refuses what would misbehave later, saying what to change."""

from __future__ import annotations

from datetime import timedelta

import httpx

from .. import errors
from .._config import KASHFLOW_SOAP_URL
from .._documents.model import DOCUMENT_CLASSES
from .._error_codes import ErrorCode
from .._limits import MAX_CONNECTION_ID_LENGTH, key_problem

__all__ = ["check_connection_id", "check_document", "check_durations", "check_endpoint"]


def check_document(document: object) -> None:
    """Refuse anything but a document (an invoice or a credit note), naming what it got."""
    if not isinstance(document, tuple(DOCUMENT_CLASSES.values())):
        raise TypeError(
            "expected a kashflow_sync.PurchaseInvoice, SalesInvoice, PurchaseCreditNote or "
            f"SalesCreditNote, not {type(document).__name__}"
        )


def check_endpoint(endpoint: str) -> str:
    """*endpoint* if it is an http(s) URL with a host.

    Raises:
        ConfigurationError: ``invalid_endpoint`` (also a ``ValueError``).

    """
    problem = errors.ConfigurationError(
        f"endpoint must be an http(s) URL, not {endpoint!r}",
        code=ErrorCode.INVALID_ENDPOINT,
        remedy=f"Pass the full URL, e.g. endpoint={KASHFLOW_SOAP_URL!r}.",
    )
    try:
        url = httpx.URL(endpoint)
    except (TypeError, httpx.InvalidURL) as exc:
        raise problem from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise problem
    return endpoint


def check_durations(
    lease: object, timeout: float, settle_time: object, ledger_cache_ttl: object
) -> None:
    """Refuse durations that would break exactly-once (each error says what to change)."""
    for name, value in (("settle_time", settle_time), ("ledger_cache_ttl", ledger_cache_ttl)):
        if not isinstance(value, timedelta) or value < timedelta(0):
            raise errors.ConfigurationError(
                f"{name} must be a timedelta of zero or more, not {value!r}",
                code=ErrorCode.INVALID_SETTING,
                remedy=f"Pass e.g. {name}=timedelta(seconds=120).",
            )
    if not isinstance(lease, timedelta) or lease.total_seconds() <= timeout:
        # A request may run for the whole deadline: a shorter lease could run out while the
        # holder still has a write on its way, letting another worker send it again.
        raise errors.ConfigurationError(
            f"publish_lease ({lease!r}) must be longer than the request deadline (timeout="
            f"{timeout:g} s)",
            code=ErrorCode.INVALID_SETTING,
            remedy=f"Pass publish_lease=timedelta(seconds={max(timeout * 2, 60):g}) or more, or a "
            "shorter timeout.",
        )


def check_connection_id(connection_id: object) -> None:
    """Refuse a ``connection_id`` that cannot key every storage alike.

    Raises:
        ConfigurationError: ``invalid_connection_id`` (also a ``ValueError``): not a non-empty
            str, longer than ``MAX_CONNECTION_ID_LENGTH`` (255) characters, or holding a
            character no storage can hold (NUL, a lone surrogate).

    """
    if isinstance(connection_id, str) and not connection_id:
        problem: str | None = "connection_id must be a non-empty string"
    else:
        problem = key_problem("connection_id", connection_id, MAX_CONNECTION_ID_LENGTH)
    if problem is not None:
        raise errors.ConfigurationError(
            problem,
            code=ErrorCode.INVALID_CONNECTION_ID,
            remedy=(
                "Key each KashFlow account by a short id of your own (its tenant or account id, "
                f"at most {MAX_CONNECTION_ID_LENGTH} characters)."
            ),
        )
