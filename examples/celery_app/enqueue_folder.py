"""Enqueue every document of a folder for the Celery workers, then show each result.

    python enqueue_folder.py                       # ../documents, connection "default"
    python enqueue_folder.py inbox/ --connection tenant-42

It needs the ``examples`` extra (``pip install '.[examples]'`` from a checkout) and the
settings of kfs_tasks.py.

The documents use the ``kashflow-sync publish`` file format. The connection is connected first
if it never was (connecting is an administrator's act, done here rather than in a task). Each
document becomes one ``kashflow_sync.publish`` task; enqueueing the same folder again is safe:
the results say ``already_published`` and nothing reaches KashFlow twice. Exits 1 if a
document did not publish.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kfs_tasks import client_factory, tasks

import kashflow_sync as kfs
from kashflow_sync.cli import load_documents

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=HERE.parent / "documents")
    parser.add_argument("--connection", default="default")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
    args = parser.parse_args(argv)

    documents = load_documents(args.folder)
    with client_factory(args.connection) as client:
        if client.status is not kfs.ConnectionStatus.CONNECTED:
            print(f"Connecting {args.connection!r} (AutoAuth, then every list)...")
            client.connect()

    pending = [
        (doc.external_id, tasks.publish.delay(args.connection, kfs.document_to_json(doc)))
        for doc in documents
    ]
    print(f"Enqueued {len(pending)} documents from {args.folder}")
    failed = 0
    for external_id, result in pending:
        out = result.get(timeout=args.timeout)
        if out["error"] is None:
            print(f"  {external_id:<14} {out['status']:<18} number {out['number']}")
        else:
            failed += 1
            error = out["error"]
            print(f"  {external_id:<14} failed: {error['message']} ({error['code']})")
            for problem in error.get("problems", [error]):
                print(f"      -> {problem['remedy']}")

    with client_factory(args.connection) as client:
        stuck = client.journal(["claimed", "sending", "created"])
    print(f"Journal: {len(stuck)} document(s) not finished")
    for row in stuck:
        print(f"  {row.external_id}: {row.state}, {row.last_error} -> {row.remedy}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
