"""What the notification service counts for Prometheus (served at /metrics on its health port)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge

EMAILS_SENT = Counter("booking_emails_sent_total", "Emails the SMTP server accepted, by kind", ["kind"])
EMAILS_FAILED = Counter("booking_emails_failed_total", "Email sends that failed (retried later or dead-lettered), by kind", ["kind"])
EVENTS_HANDLED = Counter("booking_events_handled_total", "Events whose emails are all sent (acknowledged), by subject", ["subject"])
DEAD_LETTERED = Counter("booking_events_dead_lettered_total", "Events given up on and copied to the dead-letter stream, by subject", ["subject"])
CONSUMER_PENDING = Gauge("booking_consumer_pending", "Events in the stream not yet delivered to the consumer (its lag)")
CONSUMER_ACK_PENDING = Gauge("booking_consumer_ack_pending", "Events delivered but not yet acknowledged")
ORDER_WAITS = Counter("booking_events_held_for_order_total", "Booking events handed back because an earlier event of the same booking was not handled yet")
ORDER_WAITS_EXPIRED = Counter(
    "booking_events_out_of_order_total", "Booking events handled although an earlier one never came within the wait bound"
)
