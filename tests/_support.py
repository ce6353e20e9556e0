"""Helpers shared by the tests (imported as a plain module: tests/ is on sys.path)."""

from __future__ import annotations

import httpx

import kashflow_sync as kfs
from kashflow_sync._retry import RetryPolicy
from kashflow_sync.testing import FakeKashFlow

#: Retries without waiting, so no test sleeps.
FAST_RETRY = RetryPolicy(max_retries=2, initial=0.0, cap=0.0, sleep=lambda _s: None)


def make_client(
    fake: FakeKashFlow, http: httpx.Client | None = None, **kw: object
) -> kfs.KashFlowClient:
    """A client for *fake* (in-process unless *http* says otherwise) that never sleeps."""
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("app_name", "kashflow_sync tests")
    return kfs.KashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=http or fake.http_client(),
        **kw,  # type: ignore[arg-type]
    )
