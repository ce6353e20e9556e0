"""A process that forgets, or publishes, the race test's documents (run as a subprocess).

Usage: python _forget_worker.py URL USER PASSWORD KEY DB_URL CONNECTION_ID COUNT MODE, where
MODE is ``forget`` or ``publish``. Prints one JSON line: what each call answered (the errors a
race may rightly give are counted apart from the others).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import timedelta

import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, purchase

#: What a call may rightly answer in the race: the other process republished it first.
EXPECTED = {"still_in_kashflow"}


def main() -> None:
    url, user, password, key, db, connection_id, count, mode = sys.argv[1:9]
    creds = kfs.Credentials(user, password, key)
    docs = [purchase(i, prefix="race", attach=False, pay=False) for i in range(int(count))]
    outcomes: Counter[str] = Counter()
    errors: list[str] = []
    with (
        httpx.Client(timeout=10.0) as http,
        kfs.KashFlowClient(
            creds,
            endpoint=url,
            http_client=http,
            storage=kfs.SQLStorage(db),
            connection_id=connection_id,
            retry=FAST_RETRY,
            settle_time=timedelta(0),
        ) as client,
    ):
        for doc in docs:
            try:
                if mode == "forget":
                    outcomes[client.forget(doc.external_id).state] += 1
                else:
                    outcomes[client.publish(doc).status] += 1
            except kfs.errors.KashFlowError as exc:
                if exc.code in EXPECTED:
                    outcomes[exc.code] += 1
                else:
                    errors.append(f"{doc.external_id}: {type(exc).__name__} {exc.code}: {exc}")
    print(json.dumps({"outcomes": dict(outcomes), "errors": errors}))


if __name__ == "__main__":
    main()
