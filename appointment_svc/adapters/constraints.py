"""PostgreSQL's integrity errors, told apart by the constraint they name (never by message text)."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint (for a unique index: the index's name), as psycopg reports it."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)
