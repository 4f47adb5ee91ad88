"""outbox rows carry the W3C traceparent of the transaction that wrote them

The relay publishes each event with it as a NATS header, so the notification service's spans
join the trace of the request that caused the event (issue 16: one booking, one trace). NULL for
rows written outside a trace and for rows older than this revision.

Revision ID: 0005_outbox_trace_context
Revises: 0004_email_limits
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_outbox_trace_context"
down_revision = "0004_email_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "trace_context")
