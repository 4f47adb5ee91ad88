"""Configuration read once from the environment at start-up (never at import)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What both services need; each value comes from the environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str
    redis_url: str
    nats_url: str
    jwt_jwks_path: Path
    jwt_issuer: str = "booking-mesh"
    jwt_audience: str = "booking-api"
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")


class AppointmentSettings(ServiceSettings):
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    availability_cache_ttl_seconds: int = 30
    slot_lock_ttl_seconds: int = 30
    outbox_poll_seconds: float = 0.5


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
    health_port: int = 0

    def team_address(self, team: str) -> str:
        configured = {"kitchen": self.kitchen_team_email, "bedroom": self.bedroom_team_email}[team]
        return configured or f"{team}-team@{self.team_email_domain}"


def sqlalchemy_url(url: str, *, async_driver: bool = True) -> str:
    """Accept plain postgresql:// URLs from the environment and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
