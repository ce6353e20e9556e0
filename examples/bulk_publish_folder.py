"""Publish a folder of JSON documents in one batch, with progress, exactly once.

    python examples/bulk_publish_folder.py                 # the sample documents/ folder
    python examples/bulk_publish_folder.py path/to/inbox   # your own folder

It needs nothing beyond kashflow-sync itself (``pip install .`` from a checkout).

The documents use the ``kashflow-sync publish`` file format (one document or a list per file;
money as strings; attachments relative to the file). They are published to the fake KashFlow
served on this machine, with the journal in a SQLite file, and then published a second time to
show that nothing is created twice. For a real account, swap in real credentials and endpoint.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import kashflow_sync as kfs
from kashflow_sync.cli import load_documents
from kashflow_sync.testing import FakeKashFlow

HERE = Path(__file__).resolve().parent


def load_folder(folder: Path) -> list[kfs.Document]:
    # Every *.json file of the folder; a DocumentFileError (a ValidationError) lists every
    # problem of every file at once, each with its file, field and remedy.
    return load_documents(folder)


def show_progress(event: kfs.BatchProgress) -> None:
    mark = "ok" if event.ok else "FAILED"
    print(f"  [{event.done:>2}/{event.total}] {event.external_id:<12} {mark}")


def publish_all(client: kfs.KashFlowClient, documents: list[kfs.Document]) -> kfs.BatchResult:
    batch = client.publish_many(documents, concurrency=4, progress=show_progress)
    for item in batch:  # input order, whatever order they finished in
        if item.result is not None:
            r = item.result
            what = "receipt" if r.kind == "purchase" else "invoice"
            print(f"  {item.external_id:<12} {what} {r.number:<5} {r.status}")
        else:
            print(f"  {item.external_id:<12} {item.error}")
            for problem in getattr(item.error, "problems", ()):
                print(f"      {problem.field}: {problem.message} -> {problem.remedy}")
    return batch


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else HERE / "documents"
    documents = load_folder(folder)
    print(f"{len(documents)} documents in {folder}")

    with tempfile.TemporaryDirectory() as tmp, FakeKashFlow.serve() as fake:
        storage = kfs.SQLStorage(f"sqlite:///{tmp}/kashflow-sync.db")
        with kfs.KashFlowClient(fake.credentials, endpoint=fake.url, storage=storage) as client:
            client.connect()
            print("First run:")
            first = publish_all(client, documents)
            print("Second run (same documents):")
            second = publish_all(client, documents)
        storage.close()

        print(
            f"KashFlow now holds {len(fake.receipts)} receipts and {len(fake.invoices)} invoices; "
            f"new suppliers created: {[s.name for s in fake.suppliers][3:]}"
        )
        assert all(i.result and i.result.status == "already_published" for i in second.published)
        return 0 if not first.failed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
