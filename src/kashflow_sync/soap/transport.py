"""The project's WSDL, parsed once per process by zeep, without ever touching the network.

zeep builds envelopes and reads replies; it never sends. Requests go through each client's own
``httpx.Client`` or ``httpx.AsyncClient`` (see :mod:`.caller`), so one
connection pool, one timeout policy and one test transport serve everything.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import zeep

__all__ = ["WSDL_LOCATION", "PackagedWsdlTransport", "shared_zeep_client"]

#: Where the project's own WSDL sits inside the package (a name, not a filesystem path).
WSDL_LOCATION = "kashflow-sync:kashflow.wsdl"


class PackagedWsdlTransport(zeep.Transport):
    """A zeep transport that loads the packaged WSDL and refuses everything else.

    Building the zeep client therefore reads only package data; zeep never sends through it.
    """

    def __init__(self) -> None:
        """A transport with no cache and no network use."""
        super().__init__(cache=None)  # type: ignore[no-untyped-call]

    def load(self, url: str) -> bytes:
        """Return the packaged WSDL; refuse every other document."""
        if url == WSDL_LOCATION or url.endswith("kashflow.wsdl"):
            return resources.files(__package__).joinpath("kashflow.wsdl").read_bytes()
        raise ValueError(f"kashflow_sync does not load remote schema documents ({url!r})")

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        """Refuse: kashflow_sync sends through its own HTTP client, never through zeep."""
        raise ValueError(f"kashflow_sync does not send through zeep ({address!r})")

    def get(self, address: str, params: Any, headers: Any) -> Any:
        """Refuse GETs: the SDK never fetches documents at run time."""
        raise ValueError(f"kashflow_sync does not fetch remote documents ({address!r})")


_SHARED: list[Any] = []
_LOCK = threading.Lock()


def shared_zeep_client() -> Any:
    """The zeep client for the packaged WSDL, parsed once per process (thread-safe)."""
    if not _SHARED:
        with _LOCK:
            if not _SHARED:
                settings = zeep.Settings(strict=True, xml_huge_tree=True, forbid_entities=True)
                client = zeep.Client(  # type: ignore[no-untyped-call]
                    WSDL_LOCATION, transport=PackagedWsdlTransport(), settings=settings
                )
                _SHARED.append(client)
    return _SHARED[0]
