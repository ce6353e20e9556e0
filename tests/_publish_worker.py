"""A publishing process for the crash and multi-worker tests (run as a subprocess).

Usage: python _publish_worker.py URL USERNAME PASSWORD KEY DB_URL COUNT PREFIX LEASE_SECONDS
Prints one JSON line: how many documents it published, found already published, or failed.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, purchase


def main() -> None:
    url, user, password, key, db, count, prefix, lease = sys.argv[1:9]
    creds = kfs.Credentials(user, password, key)
    docs = [purchase(i, prefix=prefix) for i in range(int(count))]
    storage = kfs.SQLStorage(db)
    with (
        httpx.Client(timeout=10.0) as http,
        kfs.KashFlowClient(
            creds,
            endpoint=url,
            http_client=http,
            storage=storage,
            connection_id="crash-test",
            retry=FAST_RETRY,
            publish_lease=timedelta(seconds=float(lease)),
        ) as client,
    ):
        client.connect()
        batch = client.publish_many(docs, concurrency=4)
    statuses = [i.result.status if i.result else type(i.error).__name__ for i in batch]
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
