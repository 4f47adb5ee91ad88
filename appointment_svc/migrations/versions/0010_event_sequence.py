"""bookings.event_sequence: the number of the last event published about each booking (issue 16)

Every booking event carries its booking's next number (1 for booking.created), so notification
replicas sharing one consumer can hand a booking's emails out in order. Existing bookings start
at 0: their earlier events went out unnumbered, so their next event is 1 and waits for nothing.

Revision ID: 0010_event_sequence
Revises: 0009_reminders
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_event_sequence"
down_revision = "0009_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("event_sequence", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.create_check_constraint("bookings_event_sequence_not_negative", "bookings", "event_sequence >= 0")


def downgrade() -> None:
    op.drop_constraint("bookings_event_sequence_not_negative", "bookings")
    op.drop_column("bookings", "event_sequence")
