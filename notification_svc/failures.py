"""How a message failed decides what happens to it."""
from __future__ import annotations


class Outage(Exception):
    """A dependency (SMTP server, S3) is unreachable: not the message's fault. Retried with backoff,
    never dead-lettered, and the consumer pauses instead of failing the rest of its batch."""


class RetryableFailure(Exception):
    """The message failed in a way that may pass (e.g. SMTP 4xx, brochure object missing).
    Retried with backoff; dead-lettered once it has been delivered `max_deliveries` times."""


class PermanentFailure(Exception):
    """Retrying cannot help (undecodable payload, unknown subject, SMTP 5xx): dead-letter now."""
