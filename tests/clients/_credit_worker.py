"""Publish the customer credit notes of the kill test (run as a subprocess).

Usage: python _credit_worker.py URL USER PASSWORD KEY DB_URL CONNECTION_ID COUNT. The invoices
they credit (``sale(i)``) must have been published on the same journal. Prints one JSON line:
each result's status and whether it was applied.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import httpx
from _credit_docs import sales_credit

import kashflow_sync as kfs
from _support import FAST_RETRY


def main() -> None:
    url, user, password, key, db, connection_id, count = sys.argv[1:8]
    outcomes = []
    with (
        httpx.Client(timeout=30.0) as http,
        kfs.KashFlowClient(
            kfs.Credentials(user, password, key),
            endpoint=url,
            http_client=http,
            storage=kfs.SQLStorage(db),
            connection_id=connection_id,
            retry=FAST_RETRY,
            publish_lease=timedelta(seconds=2),
            timeout=1.0,
            settle_time=timedelta(0),
        ) as client,
    ):
        for i in range(int(count)):
            result = client.publish(sales_credit(i))
            outcomes.append([result.status, result.applied])
    print(json.dumps({"outcomes": outcomes}))


if __name__ == "__main__":
    main()
