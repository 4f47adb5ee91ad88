"""Configuration read once from the environment at start-up (never at import)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventBusSettings(BaseSettings):
    """Enough to talk to JetStream: the `notification_svc dlq` commands need nothing else.

    The stream names and the subject prefix exist so tests (and a shared NATS) can run isolated
    copies of the topology; production leaves them at their defaults, giving the FIXED subjects.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    nats_url: str
    events_stream: str = "BOOKING_EVENTS"
    events_dlq_stream: str = "BOOKING_EVENTS_DLQ"
    events_subject_prefix: str = ""
    # JetStream replicas of the event and dead-letter streams (3 on the overlay's 3-node NATS).
    events_stream_replicas: int = Field(default=1, ge=1, le=5)
    # The notification service's durable consumer and its sent-ledger bucket. The appointment
    # service reads them too: an erasure's follow-up waits for that consumer to have acknowledged
    # the erased person's events, then purges their ledger keys (issue 15).
    notification_durable: str = "notification-svc"
    notification_sent_bucket: str = "notification_sent"


class ServiceSettings(EventBusSettings):
    """What both services need; each value comes from the environment variable of the same name."""

    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")


class AppointmentSettings(ServiceSettings):
    database_url: str
    redis_url: str
    jwt_jwks_path: Path
    jwt_issuer: str = "booking-mesh"
    jwt_audience: str = "booking-api"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    # Prometheus' /metrics on its own port; 0: not served.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    availability_cache_ttl_seconds: int = 30
    slot_lock_ttl_seconds: int = 30
    outbox_poll_seconds: float = 0.5
    # Every RPC answers within this plus a 0.3 s wind-down (UNAVAILABLE when a dependency hangs):
    # under the 3 s a client may wait, and below Envoy's route timeout.
    rpc_deadline_seconds: float = 2.4
    readiness_interval_seconds: float = 1.0
    # Abuse limits (issue 9): upcoming PENDING/CONFIRMED bookings one customer (token `sub`) may
    # hold, and booking emails one recipient address may be sent in 24 hours.
    max_active_bookings: int = Field(default=3, ge=1)
    max_booking_emails_per_day: int = Field(default=10, ge=1)
    # How far ahead (London calendar days from today) slots may be offered, created and booked.
    booking_horizon_days: int = Field(default=730, ge=1, le=36500)
    # Issue 14: a customer may cancel or move a booking only until this many hours before it
    # starts (staff any time); 0 turns the window off.
    change_notice_hours: int = Field(default=24, ge=0, le=24 * 365)
    # How long a customer's hold keeps a slot to themselves while they fill in the form (issue 14).
    slot_hold_seconds: int = Field(default=300, ge=1, le=3600)
    # Issue 15: each PENDING/CONFIRMED booking's reminder email goes out this long before its slot
    # starts (none for a booking made or moved inside it); the scheduler looks for due ones this often.
    reminder_lead_minutes: int = Field(default=24 * 60, ge=1, le=60 * 24 * 365)
    reminder_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Issue 15: personal fields of bookings whose slot ended more than RETENTION_DAYS ago, and of
    # brochure requests older than BROCHURE_RETENTION_DAYS, are anonymised by a scheduled job.
    retention_days: int = Field(default=730, ge=1)
    brochure_retention_days: int = Field(default=30, ge=1)
    retention_interval_seconds: float = Field(default=3600, gt=0)
    # How often the erasure follow-up looks for erased records whose copies outside the tables
    # (event and dead-letter streams, sent ledger, outbox payloads) can now be removed.
    erasure_followup_interval_seconds: float = Field(default=5, gt=0)


class NotificationSettings(ServiceSettings):
    smtp_url: str
    s3_endpoint_url: str
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    brochure_bucket: str = "brochures"
    brochure_key: str = "brochure.pdf"
    mail_from: str = "Bookings <bookings@example.co.uk>"
    team_email_domain: str = "example.co.uk"
    kitchen_team_email: str = ""
    bedroom_team_email: str = ""
    health_host: str = "127.0.0.1"
    health_port: int = 0
    smtp_timeout_seconds: float = 10.0
    # How long "this email was sent" is remembered; must outlive any redelivery or replay.
    notification_sent_ttl_seconds: float = 90 * 24 * 3600
    # How soon a crashed consumer's events are redelivered; a heartbeat covers slow sends.
    notification_ack_wait_seconds: float = 6.0
    # A message that failed this many deliveries for a reason of its own is dead-lettered.
    notification_max_deliveries: int = 8
    notification_retry_base_seconds: float = 2.0
    notification_retry_max_seconds: float = 60.0
    notification_shutdown_grace_seconds: float = 10.0
    # Events one fetch brings (and one replica holds) at most.
    notification_fetch_batch: int = Field(default=50, ge=1, le=1000)
    # Per booking, the last event whose emails are sent (notification_svc.ordering): replicas hold a
    # booking's later event back (for retry seconds at a time) until its predecessor is handled, for
    # at most max wait seconds.
    notification_order_bucket: str = "notification_order"
    # How long a booking's last handled number is remembered: longer than two of its events can be
    # apart (made up to BOOKING_HORIZON_DAYS, 730, ahead; reminded or cancelled near the start), or
    # the later one is held back for the whole max wait once, as if its predecessor were missing.
    # One small key per booking.
    notification_order_ttl_seconds: float = Field(default=800 * 24 * 3600, gt=0)
    notification_order_retry_seconds: float = Field(default=0.5, gt=0)
    notification_order_max_wait_seconds: float = Field(default=300.0, ge=0)
    brand_name: str = "Fitted Kitchens & Bedrooms"
    # Where showroom visits happen (emails and the calendar invitation's LOCATION), and where the
    # brochure email sends people to book; empty: "Our showroom", and no link.
    showroom_address: str = ""
    booking_url: str = ""
    # The appointment service's notice window (same variable), so the emails state the rule it applies.
    change_notice_hours: int = Field(default=24, ge=0, le=24 * 365)

    def team_address(self, team: str) -> str:
        configured = {"kitchen": self.kitchen_team_email, "bedroom": self.bedroom_team_email}[team]
        return configured or f"{team}-team@{self.team_email_domain}"


def sqlalchemy_url(url: str, *, async_driver: bool = True) -> str:
    """Accept plain postgresql:// URLs from the environment and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
