"""Publish one invoice under a given external id (run as a subprocess by the stall tests).

Usage: python _twin_stall_worker.py URL USER PASSWORD KEY DB_URL CONNECTION_ID EXTERNAL_ID
LEASE_SECONDS. The invoice is always the same (``purchase(1, prefix="twin")``), so two workers
with different external ids publish twins. Prints one JSON line: the outcome (a status or an
error code) and the steps its journal entry recorded.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import attrs
import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, purchase


def main() -> None:
    url, user, password, key, db, connection_id, external_id, lease = sys.argv[1:9]
    doc = attrs.evolve(purchase(1, prefix="twin", attach=False, pay=False), external_id=external_id)
    with (
        httpx.Client(timeout=10.0) as http,
        kfs.KashFlowClient(
            kfs.Credentials(user, password, key),
            endpoint=url,
            http_client=http,
            storage=kfs.SQLStorage(db),
            connection_id=connection_id,
            retry=FAST_RETRY,
            publish_lease=timedelta(seconds=float(lease)),
            timeout=float(lease) / 2,
            settle_time=timedelta(0),
        ) as client,
    ):
        if client.status is not kfs.ConnectionStatus.CONNECTED:
            client.connect()
        try:
            outcome = client.publish(doc).status
        except kfs.errors.ValidationError as exc:
            outcome = exc.problems[0].code if exc.problems else exc.code
        except kfs.errors.KashFlowError as exc:
            outcome = exc.code
        steps = [f"{a.step}:{a.outcome}" for a in client.publish_history(external_id)]
    print(json.dumps({"outcome": outcome, "steps": steps}))


if __name__ == "__main__":
    main()
