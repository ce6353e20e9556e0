"""zeep riding on the SDK's ``httpx.Client``: one pool, one timeout policy, one test transport."""

from __future__ import annotations

from importlib import resources
from typing import Any

import httpx
import zeep
from lxml import etree

__all__ = ["WSDL_LOCATION", "HttpxTransport", "shared_zeep_client"]

#: Where the project's own WSDL sits inside the package (a name, not a filesystem path).
WSDL_LOCATION = "kashflow-sync:kashflow.wsdl"


class HttpxTransport(zeep.Transport):
    """A zeep transport that sends through an ``httpx.Client`` and never loads anything remote.

    The WSDL is read from package data; any other document zeep asks for is refused, so building
    the client never touches the network.
    """

    def __init__(self, http: httpx.Client) -> None:
        """Send through *http* (owned by the caller)."""
        # zeep's base __init__ builds a requests.Session we never use; set only what zeep reads.
        self.http = http
        self.cache = None
        self.load_timeout = None
        self.operation_timeout = None
        self._close_session = False

    def load(self, url: str) -> bytes:
        """Return the packaged WSDL; refuse every other document."""
        if url == WSDL_LOCATION or url.endswith("kashflow.wsdl"):
            return resources.files(__package__).joinpath("kashflow.wsdl").read_bytes()
        raise ValueError(f"kashflow_sync does not load remote schema documents ({url!r})")

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> httpx.Response:
        """Serialize *envelope* and POST it; httpx errors propagate to the caller's mapper."""
        body = etree.tostring(envelope, encoding="utf-8", xml_declaration=True)
        return self.post(address, body, headers)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST raw SOAP bytes."""
        merged = {"Content-Type": "text/xml; charset=utf-8", **headers}
        return self.http.post(address, content=message, headers=merged)

    def get(self, address: str, params: Any, headers: Any) -> httpx.Response:
        """Refuse GETs: the SDK never fetches documents at run time."""
        raise ValueError(f"kashflow_sync does not fetch remote documents ({address!r})")


_SHARED: list[Any] = []


def shared_zeep_client() -> Any:
    """The zeep client for the packaged WSDL, parsed once per process.

    It builds envelopes and reads replies; it never sends. Sending goes through each
    ``KashFlowClient``'s own :class:`HttpxTransport`, so nothing here holds a connection.
    """
    if not _SHARED:
        settings = zeep.Settings(strict=True, xml_huge_tree=True, forbid_entities=True)
        transport = HttpxTransport(httpx.Client())
        client = zeep.Client(WSDL_LOCATION, transport=transport, settings=settings)  # type: ignore[no-untyped-call]
        _SHARED.append(client)
        transport.http.close()
    return _SHARED[0]
