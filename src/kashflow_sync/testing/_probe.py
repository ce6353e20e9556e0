"""A bare SOAP caller for testing the fake itself: zeep builds envelopes, httpx sends them.

Deliberately independent of the SDK's own client, so the fake's tests check the wire contract
rather than the client.
"""

from __future__ import annotations

import functools
import importlib
from importlib import resources
from typing import Any

import httpx
from lxml import etree

__all__ = ["SoapProbe"]


@functools.lru_cache(maxsize=1)
def _zeep_client() -> Any:
    zeep: Any = importlib.import_module("zeep")
    wsdl = resources.files("kashflow_sync.soap").joinpath("kashflow.wsdl")
    with resources.as_file(wsdl) as path:
        return zeep.Client(str(path))


class SoapProbe:
    """Send KashFlow operations to a URL and read the answers with zeep or lxml."""

    def __init__(self, url: str, http: httpx.Client, *, username: str, password: str) -> None:
        """Call *url* through *http* with these credentials merged into every request."""
        self.url, self.http = url, http
        self.username, self.password = username, password
        self.client = _zeep_client()

    def envelope(self, operation: str, **params: Any) -> bytes:
        """The request envelope zeep builds for *operation* (credentials included)."""
        params.setdefault("UserName", self.username)
        params.setdefault("Password", self.password)
        message = self.client.create_message(self.client.service, operation, **params)
        return bytes(etree.tostring(message))

    def post(
        self,
        body: bytes,
        soap_action: str | None,
        content_type: str = "text/xml; charset=utf-8",
        **kwargs: Any,
    ) -> httpx.Response:
        """POST raw bytes with the given SOAPAction (None: header left out)."""
        headers = {"Content-Type": content_type}
        if soap_action is not None:
            headers["SOAPAction"] = soap_action
        return self.http.post(self.url, content=body, headers=headers, **kwargs)

    def send(self, operation: str, **params: Any) -> httpx.Response:
        """Send *operation* and return the raw HTTP response."""
        return self.post(self.envelope(operation, **params), f'"KashFlow/{operation}"')

    def call(self, operation: str, **params: Any) -> Any:
        """Send *operation* and return zeep's parsed ``<operation>Response``."""
        return self.read(operation, self.send(operation, **params))

    def read(self, operation: str, response: httpx.Response) -> Any:
        """Parse *response* as ``<operation>Response`` with zeep."""
        binding = self.client.service._binding
        return binding.process_reply(self.client, binding._operations[operation], response)

    def line(self, **values: Any) -> Any:
        """An ``<anyType xsi:type="InvoiceLine">`` item for ``Invoice.Lines``."""
        xsd: Any = importlib.import_module("zeep.xsd")
        line_type = self.client.get_type("ns0:InvoiceLine")
        defaults: dict[str, Any] = {
            "Quantity": 1,
            "Rate": 0,
            "ChargeType": 0,
            "VatRate": 20,
            "VatAmount": 0,
            "ProductID": 0,
            "Sort": 0,
            "ProjID": 0,
            "LineID": 0,
        }
        return xsd.AnyObject(line_type, line_type(**{**defaults, **values}))
