"""AutoAuth on any call, writes included: an IP refused mid-publish costs one AutoAuthIP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync.testing import FakeKashFlow

NEW_IP = "203.0.113.7"  # the egress address the app suddenly has (a NAT pool, say)


def ip_changer(kind: str, fake: FakeKashFlow, operation: str) -> dict[str, Any]:
    """httpx options whose request hook moves the caller to NEW_IP just before *operation*."""
    action = f'"KashFlow/{operation}"'

    def move(request: httpx.Request) -> None:
        if request.headers.get("SOAPAction") == action and fake.client_ip != NEW_IP:
            fake.client_ip = NEW_IP

    async def amove(request: httpx.Request) -> None:
        move(request)

    return {"event_hooks": {"request": [move if kind == "sync" else amove]}}


@pytest.mark.parametrize("kind", KINDS)
def test_create_refused_for_ip_gets_one_autoauth_one_resend_one_document(kind: str) -> None:
    """IP changed between validation and InsertReceipt: refused, AutoAuthIP once, sent once more."""
    fake = FakeKashFlow()
    doc = purchase(1, attach=False, pay=False)
    with any_client(kind, fake, http_options=ip_changer(kind, fake, "InsertReceipt")) as client:
        client.connect()
        assert client.validate(doc) == []
        fake.reset_calls()
        result = client.publish(doc)
    calls = [(c.operation, c.status) for c in fake.calls]
    writes = [c for c in calls if c[0] in ("InsertReceipt", "AutoAuthIP")]
    assert writes == [("InsertReceipt", "NO"), ("AutoAuthIP", "OK"), ("InsertReceipt", "OK")]
    assert result.status == "published"
    assert len(fake.receipts) == 1
    assert NEW_IP in fake.allowed_ips
