"""SQLAlchemy and driver failures, translated into :class:`~kashflow_sync.errors.StorageError`.

The one place :class:`~kashflow_sync.storage.SQLStorage` turns the layer below into the SDK's
errors (as ``_errormap`` does for the network). Messages carry what the database said, first
line only, with the URL's password masked: never a SQL statement, never a password.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .. import errors

__all__ = ["INVALID_URL_REMEDY", "invalid_url", "mask_url_password", "storage_errors"]

#: What to write instead of something that is not a database URL.
INVALID_URL_REMEDY = (
    "Give a SQLAlchemy database URL: sqlite:///relative/path.db or sqlite:////absolute/path.db "
    "for a SQLite file, postgresql+psycopg://user@host:5432/dbname for PostgreSQL."
)

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?P<tail>@)", re.I)


def mask_url_password(text: str) -> str:
    """*text* with the password of any ``scheme://user:password@host`` in it masked."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", text)


def invalid_url(url: str, reason: str) -> errors.StorageError:
    """The error for a database URL that cannot be used at all."""
    return errors.StorageError(
        f"{mask_url_password(url)!r} is not a usable database URL: {reason}",
        code="database_url_invalid",
        remedy=INVALID_URL_REMEDY,
    )


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0].strip() if text else type(original).__name__


def _value_refused(exc: BaseException) -> bool:
    """True when the database refused a value (too large, NUL...), not the connection.

    A DB-API DataError (psycopg raises one itself for NUL in text), or PostgreSQL's SQLSTATE
    classes 22 (data exception) and 54 (program limit exceeded, e.g. an index row above 2704
    bytes), which psycopg raises as OperationalError: that would read as "unreachable, try
    again" though the same value fails every time.
    """
    if isinstance(exc, (sa.exc.DataError, sqlite3.DataError)):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(state, str) and state[:2] in ("22", "54")


@contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Translate SQLAlchemy and driver exceptions raised inside the block into StorageError.

    Args:
        url: the database URL with its password already masked, named in messages.

    """
    try:
        yield
    except errors.KashFlowError:
        raise
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
        raise _translated(url, exc) from exc


def _translated(url: str, exc: BaseException) -> errors.StorageError:
    """The StorageError for a SQLAlchemy or driver exception (see :func:`storage_errors`)."""
    said = mask_url_password(_first_line(exc))
    if _value_refused(exc):
        return errors.StorageError(
            f"the database {url} refused a value: {said}",
            code="value_not_storable",
            remedy=(
                "A value is too large or holds a character the database cannot store; the "
                "message says which. Storing it again fails the same way."
            ),
        )
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError)):
        # Could not reach or open the database, or it went away: worth another try later.
        return errors.StorageError(
            f"cannot use the database {url}: {said}",
            code="database_unavailable",
            remedy=(
                "Check that the database server is running and reachable (host, port, user, "
                "database name), or for SQLite that the file's folder exists and is writable."
            ),
            retryable=True,
        )
    return errors.StorageError(f"the database {url} failed: {said}")
