"""One ``with`` protocol for everything the SDK hands out that must be closed.

The client, :class:`~kashflow_sync.SQLStorage` and the handle ``skip_waits`` returns each say
what closing means (``close()``); entering and leaving a ``with`` block is the same for all of
them, so it is written once here.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["ClosedByWith"]

#: The class of the object entered (named for what it is: the API reference shows it).
Self = TypeVar("Self", bound="ClosedByWith")


class ClosedByWith:
    """A mixin: usable in a ``with`` block that ends by calling :meth:`close`."""

    def close(self) -> None:
        """Release what the object holds; the subclass says what that is."""
        raise NotImplementedError

    def __enter__(self: Self) -> Self:
        """Use the object in a ``with`` block; it is closed at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the object; an exception from the block goes on as it was."""
        self.close()
