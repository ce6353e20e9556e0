"""A web endpoint that publishes a posted document to KashFlow, exactly once (FastAPI, asyncio).

``POST /documents`` takes one document in the JSON document format (``kashflow-sync publish``
files, attachments as ``content_base64``) and publishes it through one shared
``AsyncKashFlowClient``. Posting the same ``external_id`` again answers ``already_published``:
a client that retries after a timeout never creates a second receipt.

    HTTP 200  {"external_id", "status", "number", "kashflow_id"}
    HTTP 422  the document has problems: {"problems": [{"code", "field", "message", "remedy"}]}
    HTTP 503  KashFlow is unavailable or the outcome is uncertain: post again later (Retry-After)
    HTTP 502  KashFlow refused it (its own words in "detail"), or another SDK error

It needs the ``examples`` extra (FastAPI, and uvicorn to serve it):
``pip install '.[examples]'`` from a checkout.

Against a real account::

    export KASHFLOW_USERNAME=... KASHFLOW_PASSWORD=... KASHFLOW_AUTOAUTH_KEY=...
    export KASHFLOW_SYNC_DB=sqlite:///kashflow.db      # or a PostgreSQL URL shared by workers
    uvicorn examples.fastapi_app:app                   # connects on start-up

Run as a script (``python examples/fastapi_app.py``), it starts a fake KashFlow, posts the
documents in examples/documents/ to the app in-process, and prints the answers.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import kashflow_sync as kfs
from kashflow_sync import errors


def create_app(make_client: Callable[[], kfs.AsyncKashFlowClient]) -> FastAPI:
    """The app, publishing through the client *make_client* builds at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_client() as client:
            if client.status is not kfs.ConnectionStatus.CONNECTED:
                await client.connect()  # AutoAuth and a full list sync, once
            app.state.kashflow = client
            yield

    app = FastAPI(title="Publish to KashFlow", lifespan=lifespan)

    @app.post("/documents")
    async def publish(request: Request) -> JSONResponse:
        client: kfs.AsyncKashFlowClient = request.app.state.kashflow
        try:
            # No base_dir: a posted document may not name files on this server.
            document = kfs.document_from_json(await request.json())
            result = await client.publish(document)
        except errors.ValidationError as exc:
            problems = [
                {"code": p.code, "field": p.field, "message": p.message, "remedy": p.remedy}
                for p in exc.problems
            ]
            return JSONResponse({"problems": problems}, status_code=422)
        except (errors.TransientError, errors.PublishUncertainError) as exc:
            # Safe to post the same document again: the journal and a ledger lookup decide.
            return JSONResponse(_error(exc), status_code=503, headers={"Retry-After": "60"})
        except errors.KashFlowError as exc:
            return JSONResponse(_error(exc), status_code=502)
        return JSONResponse(
            {
                "external_id": result.external_id,
                "status": result.status,
                "number": result.number,
                "kashflow_id": result.kashflow_id,
            }
        )

    return app


def _error(exc: errors.KashFlowError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "remedy": exc.remedy, "detail": exc.detail}


def _from_environment() -> kfs.AsyncKashFlowClient:
    storage = kfs.SQLStorage(os.environ.get("KASHFLOW_SYNC_DB", "sqlite:///kashflow.db"))
    return kfs.AsyncKashFlowClient(
        kfs.Credentials.from_env(),
        app_name="Publish to KashFlow",
        storage=storage,
        endpoint=os.environ.get("KASHFLOW_ENDPOINT", kfs.KASHFLOW_SOAP_URL),
    )


#: For ``uvicorn examples.fastapi_app:app``: credentials from the environment.
app = create_app(_from_environment)


def _as_posted(path: Path) -> list[dict[str, Any]]:
    """The documents of a file as a web client would post them: attachments' bytes inline."""
    loaded = json.loads(path.read_text())
    documents: list[dict[str, Any]] = loaded if isinstance(loaded, list) else [loaded]
    for data in documents:
        attachment = data.get("attachment")
        if isinstance(attachment, str):
            attachment = data["attachment"] = {"path": attachment}
        if isinstance(attachment, dict) and "path" in attachment:
            file = path.parent / attachment.pop("path")
            attachment["filename"] = file.name
            attachment["content_base64"] = base64.b64encode(file.read_bytes()).decode("ascii")
    return documents


def main() -> None:
    import warnings

    # Starlette's test client announces a future change of HTTP library; not ours to act on.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="fastapi.testclient")
    from fastapi.testclient import TestClient

    from kashflow_sync.testing import FakeKashFlow

    folder = Path(__file__).with_name("documents")
    with FakeKashFlow.serve() as fake:

        def fake_client() -> kfs.AsyncKashFlowClient:
            return kfs.AsyncKashFlowClient(fake.credentials, endpoint=fake.url)

        with TestClient(create_app(fake_client)) as web:
            for path in sorted(folder.glob("*.json")):
                for data in _as_posted(path):
                    for attempt in ("first post", "posted again"):
                        answer = web.post("/documents", json=data)
                        print(
                            f"{data['external_id']} ({attempt}): HTTP {answer.status_code} "
                            f"{answer.json()}"
                        )
        print(f"receipts in the fake: {len(fake.receipts)}, invoices: {len(fake.invoices)}")


if __name__ == "__main__":
    main()
