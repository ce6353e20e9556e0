"""The keys a storage accepts, checked alike in memory, SQLite and PostgreSQL.

Each backend would fail its own way on a key it cannot hold: PostgreSQL refuses NUL and an
index entry above 2704 bytes, SQLite's driver cannot encode a lone surrogate, memory takes
anything. Checking first gives one typed error everywhere, before any statement runs.
"""

from __future__ import annotations

from .. import errors
from .._error_codes import ErrorCode
from .._limits import (
    MAX_CONNECTION_ID_LENGTH,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_RULE_CONTACT_LENGTH,
    key_problem,
)

__all__ = ["InvalidKeyError", "check_keys"]

#: The longest each key may be, in characters; state keys are the SDK's own (no limit).
_LIMITS: dict[str, int | None] = {
    "external_id": MAX_EXTERNAL_ID_LENGTH,
    "contact": MAX_RULE_CONTACT_LENGTH,
    "key": None,
}


class InvalidKeyError(errors.StorageError, ValueError):
    """A key (connection_id, external_id, rule contact) no storage can hold; nothing was stored.

    Also a :class:`ValueError`: the argument is wrong, not the database.
    """

    default_code = ErrorCode.INVALID_STORAGE_KEY
    default_remedy = (
        "Use a shorter key without control characters: a connection_id or external_id of at "
        "most 255 characters, such as the host's own id."
    )


def check_keys(connection_id: object, **keys: object) -> None:
    """Refuse keys no storage can hold, before any statement runs.

    Args:
        connection_id: the connection the call is for.
        **keys: more keys by name: ``external_id``, ``contact`` (a rule's) or ``key`` (a
            state key: characters checked, no length limit).

    Raises:
        InvalidKeyError: a key is not a str, is too long, or holds NUL, a lone surrogate or
            another character XML cannot carry.

    """
    problem = key_problem("connection_id", connection_id, MAX_CONNECTION_ID_LENGTH)
    for name, value in keys.items():
        problem = problem or key_problem(name, value, _LIMITS[name])
    if problem is not None:
        raise InvalidKeyError(problem)
