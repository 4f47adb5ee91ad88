"""reminders: when each booking's reminder email is due, and what a history row records (issue 15)

bookings.reminder_due_at is set by the domain when a booking is made or moved (its start minus
REMINDER_LEAD_MINUTES, or NULL when that has passed); the scheduler claims due rows with
FOR UPDATE SKIP LOCKED, sets it to NULL and reminder_sent_at to the time, and writes the event to
the outbox in the same transaction. Existing bookings get no reminder (NULL): they were promised none.

booking_status_history.kind tells a change of status (STATUS) from a move to another slot (MOVE)
and a reminder queued (REMINDER); the last two keep the status. Before this revision the only rows
whose status stayed were moves, so those are backfilled as MOVE. The table is append-only (0003):
its trigger is set aside for that one UPDATE, inside this migration's transaction.

Revision ID: 0009_reminders
Revises: 0008_slot_holds
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_reminders"
down_revision = "0008_slot_holds"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('PENDING','CONFIRMED')"


def upgrade() -> None:
    op.add_column("bookings", sa.Column("reminder_due_at", sa.DateTime(timezone=True)))
    op.add_column("bookings", sa.Column("reminder_sent_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_bookings_reminder_due", "bookings", ["reminder_due_at"],
        postgresql_where=sa.text(f"reminder_due_at IS NOT NULL AND {ACTIVE}"),
    )  # fmt: skip
    op.add_column("booking_status_history", sa.Column("kind", sa.Text(), nullable=False, server_default="STATUS"))
    op.create_check_constraint(
        "booking_status_history_known_kind", "booking_status_history", "kind IN ('STATUS','MOVE','REMINDER')"
    )
    op.execute("ALTER TABLE booking_status_history DISABLE TRIGGER booking_status_history_append_only")
    op.execute("UPDATE booking_status_history SET kind = 'MOVE' WHERE from_status = to_status")
    op.execute("ALTER TABLE booking_status_history ENABLE TRIGGER booking_status_history_append_only")


def downgrade() -> None:
    op.drop_constraint("booking_status_history_known_kind", "booking_status_history")
    op.drop_column("booking_status_history", "kind")
    op.drop_index("ix_bookings_reminder_due", "bookings")
    op.drop_column("bookings", "reminder_sent_at")
    op.drop_column("bookings", "reminder_due_at")
