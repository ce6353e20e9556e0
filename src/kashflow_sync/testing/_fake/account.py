"""The fake's account: its ledger plus the credentials, switches, faults and call log.

What the SOAP app (:mod:`.soapapp`) and the operations' handlers (:mod:`.operations`) act on.
:class:`~.kashflow.FakeKashFlow` builds on it and adds the serving: transports, the loopback
server, the URLs and the control API. Keeping this below both lets the app and the handlers
name their ledger without importing the class that serves them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .credits import Credits
from .faults import Faults
from .late import LateWrites
from .records import CallRecord

__all__ = ["Account"]


class Account(Credits):
    """A KashFlow account's ledger with its API settings; see FakeKashFlow for the attributes."""

    #: Whether ``AutoAuthIP`` works at all.
    autoauth_enabled: bool
    #: False makes every call answer ``Status=NO`` ("API access is disabled").
    api_enabled: bool
    #: False lets any IP in (KashFlow's "restrict access" switch off).
    ip_restriction: bool
    #: True repeats the caller's secrets in refusals, faults and error pages (a hostile fake).
    echo_secrets: bool

    def __init__(
        self,
        *,
        username: str,
        password: str,
        autoauth_key: str | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Open the account with its credentials; the switches are set by the subclass."""
        super().__init__(clock=clock)
        self.username = username
        self.password = password
        self.autoauth_key = autoauth_key
        self.faults = Faults(self._stamp)
        self.errors: list[BaseException] = []
        self._calls: list[CallRecord] = []
        self._late = LateWrites(self.errors.append)

    def _record(self, call: CallRecord) -> None:
        with self._lock:
            self._calls.append(call)
