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
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError) as exc:
        # Could not reach or open the database, or it went away: worth another try later.
        raise errors.StorageError(
            f"cannot use the database {url}: {mask_url_password(_first_line(exc))}",
            code="database_unavailable",
            remedy=(
                "Check that the database server is running and reachable (host, port, user, "
                "database name), or for SQLite that the file's folder exists and is writable."
            ),
            retryable=True,
        ) from exc
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
        raise errors.StorageError(
            f"the database {url} failed: {mask_url_password(_first_line(exc))}",
        ) from exc
