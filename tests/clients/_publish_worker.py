"""A publishing process for the crash and multi-worker tests (run as a subprocess).

Usage: python _publish_worker.py URL USER PASSWORD KEY DB_URL COUNT PREFIX LEASE_SECONDS
CONNECTION_ID [CLIENT [ID_SUFFIX]]. CLIENT is ``sync`` (default) or ``async``; ID_SUFFIX is added
to every external id (the same invoices under other ids). Prints one JSON line: how many
documents it published, found already published, or failed (each failure as its class name and
code). The test that starts it owns CONNECTION_ID and purges it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from typing import Any

import attrs
import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, purchase


def _sync(url: str, creds: kfs.Credentials, options: dict[str, Any], docs: list[Any]) -> Any:
    with (
        httpx.Client(timeout=10.0) as http,
        kfs.KashFlowClient(creds, endpoint=url, http_client=http, **options) as client,
    ):
        client.connect()
        return client.publish_many(docs, concurrency=4)


async def _async(url: str, creds: kfs.Credentials, options: dict[str, Any], docs: list[Any]) -> Any:
    async with (
        httpx.AsyncClient(timeout=10.0) as http,
        kfs.AsyncKashFlowClient(creds, endpoint=url, http_client=http, **options) as client,
    ):
        await client.connect()
        return await client.publish_many(docs, concurrency=4)


def _code(error: Any) -> str:
    problems = getattr(error, "problems", None)
    return str(problems[0].code if problems else getattr(error, "code", ""))


def main() -> None:
    url, user, password, key, db, count, prefix, lease, connection_id = sys.argv[1:10]
    kind = sys.argv[10] if len(sys.argv) > 10 else "sync"
    suffix = sys.argv[11] if len(sys.argv) > 11 else ""
    creds = kfs.Credentials(user, password, key)
    docs = [purchase(i, prefix=prefix) for i in range(int(count))]
    if suffix:
        docs = [attrs.evolve(d, external_id=d.external_id + suffix) for d in docs]
    options: dict[str, Any] = {
        "storage": kfs.SQLStorage(db),
        "connection_id": connection_id,
        "retry": FAST_RETRY,
        "publish_lease": timedelta(seconds=float(lease)),
        "timeout": min(10.0, float(lease) / 2),
        "settle_time": timedelta(0),
    }
    if kind == "async":
        batch = asyncio.run(_async(url, creds, options, docs))
    else:
        batch = _sync(url, creds, options, docs)
    statuses = [
        i.result.status if i.result else f"{type(i.error).__name__}:{_code(i.error)}" for i in batch
    ]
    print(
        json.dumps(
            {
                "published": statuses.count("published"),
                "already": statuses.count("already_published"),
                "failed": [s for s in statuses if s not in ("published", "already_published")],
            }
        )
    )


if __name__ == "__main__":
    main()
