"""PostgreSQL's integrity errors, told apart by the constraint they name (never by message text)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from sqlalchemy.exc import IntegrityError


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint (for a unique index: the index's name), as psycopg reports it."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def raise_translated(exc: IntegrityError, errors: Mapping[str, type[Exception]]) -> NoReturn:
    """Raise the error the port declares for the violated constraint; an unexpected one as it is."""
    error = errors.get(constraint_name(exc))
    if error is None:
        raise exc
    raise error() from exc
