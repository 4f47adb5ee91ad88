"""admin table: the slot start on bookings, and indexes for every sort of the admin table

The admin table filters and sorts bookings by their slot's start. Sorting on a joined column
cannot use an index, so bookings carry a copy, `slot_starts_at`, that only the database writes:
a trigger fills it on insert (and when slot_id changes), another follows a slot's start if it
ever moves. Each sort then walks one index and stops after a page.

Revision ID: 0002_admin
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_admin"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("slot_starts_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE bookings b SET slot_starts_at = s.starts_at FROM time_slots s WHERE s.id = b.slot_id")
    op.alter_column("bookings", "slot_starts_at", nullable=False)
    op.execute(
        """
        CREATE FUNCTION bookings_copy_slot_start() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          SELECT starts_at INTO NEW.slot_starts_at FROM time_slots WHERE id = NEW.slot_id;
          RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER bookings_copy_slot_start BEFORE INSERT OR UPDATE OF slot_id ON bookings "
        "FOR EACH ROW EXECUTE FUNCTION bookings_copy_slot_start()"
    )
    op.execute(
        """
        CREATE FUNCTION time_slots_follow_start() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE bookings SET slot_starts_at = NEW.starts_at WHERE slot_id = NEW.id;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER time_slots_follow_start AFTER UPDATE OF starts_at ON time_slots "
        "FOR EACH ROW WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at) EXECUTE FUNCTION time_slots_follow_start()"
    )
    # The id tiebreak is part of each index so a page is one ordered index walk, no sort step.
    op.drop_index("ix_bookings_created", table_name="bookings")
    op.drop_index("ix_bookings_status_created", table_name="bookings")
    op.create_index("ix_bookings_created", "bookings", ["created_at", "id"])
    op.create_index("ix_bookings_status_created", "bookings", ["status", "created_at", "id"])
    op.create_index("ix_bookings_slot_start", "bookings", ["slot_starts_at", "id"])
    op.create_index("ix_bookings_status_slot_start", "bookings", ["status", "slot_starts_at", "id"])
    op.create_index("ix_bookings_slot", "bookings", ["slot_id"])


def downgrade() -> None:
    op.drop_index("ix_bookings_slot", table_name="bookings")
    op.drop_index("ix_bookings_status_slot_start", table_name="bookings")
    op.drop_index("ix_bookings_slot_start", table_name="bookings")
    op.drop_index("ix_bookings_status_created", table_name="bookings")
    op.drop_index("ix_bookings_created", table_name="bookings")
    op.create_index("ix_bookings_created", "bookings", ["created_at"])
    op.create_index("ix_bookings_status_created", "bookings", ["status", "created_at"])
    op.execute("DROP TRIGGER time_slots_follow_start ON time_slots")
    op.execute("DROP FUNCTION time_slots_follow_start()")
    op.execute("DROP TRIGGER bookings_copy_slot_start ON bookings")
    op.execute("DROP FUNCTION bookings_copy_slot_start()")
    op.drop_column("bookings", "slot_starts_at")
