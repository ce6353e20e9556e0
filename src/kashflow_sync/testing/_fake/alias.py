"""``Alias``: a record attribute readable under a second name (KashFlow's wire name)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

__all__ = ["Alias"]

_T = TypeVar("_T")


class Alias(Generic[_T]):
    """A read-only attribute that reads another one, typed for mypy.

    The fake's records use the SDK's words (``reference``, ``number``, ``kashflow_id``) and
    keep KashFlow's wire names (``customer_reference``, ``invoice_number``...) as aliases::

        customer_reference = Alias[str | None]("reference")
    """

    def __init__(self, target: str) -> None:
        """Read *target* whenever this attribute is read."""
        self.target = target
        self.__doc__ = f"Alias of ``{target}``."

    def __set_name__(self, owner: type, name: str) -> None:
        self.__doc__ = f"``{self.target}`` under KashFlow's name ``{name}``."

    @overload
    def __get__(self, instance: None, owner: type) -> Alias[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> _T: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        return getattr(instance, self.target)
