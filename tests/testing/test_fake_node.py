"""A SOAP client from another ecosystem (npm `soap` under Node.js) against `fake serve`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from _served import ServedFake

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node" / "publish_receipt.js"


def test_node_soap_client_publishes_a_receipt_with_a_typed_line(
    served: ServedFake, soap_package: Path
) -> None:
    """examples/node/publish_receipt.js loads ?WSDL, AutoAuths and inserts an xsi:type line."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(EXAMPLE), served.url],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "NODE_PATH": str(soap_package),
            "KASHFLOW_USERNAME": served.details["username"],
            "KASHFLOW_PASSWORD": served.details["password"],
            "KASHFLOW_AUTOAUTH_KEY": served.details["autoauth_key"],
        },
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    (receipt,) = served.http.get(served.control + "receipts").json()
    assert (printed["number"], receipt["number"], receipt["reference"]) == (1, 1, "NODE-1")
    assert (receipt["net"], receipt["vat"]) == ("100.00", "20.00")
    (insert,) = [
        c
        for c in served.http.get(served.control + "calls").json()
        if c["operation"] == "InsertReceipt"
    ]
    assert [line["xsi:type"] for line in insert["params"]["Inv"]["Lines"]] == ["InvoiceLine"]
