from __future__ import annotations


class ServiceError(RuntimeError):
    """A backing server could not be started/used; the message is meant for humans."""
