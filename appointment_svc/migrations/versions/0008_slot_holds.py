"""slot holds: a customer keeps one slot for a few minutes while booking it (issue 14)

One row per slot (unique slot_id) and one per customer (unique user_id). A hold is live while
`expires_at` is ahead; the database's time decides, not a Redis TTL. A row that ran out is
deleted or replaced by the next hold or booking of its slot, under the slot's row lock.

Revision ID: 0008_slot_holds
Revises: 0007_reschedule
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_slot_holds"
down_revision = "0007_reschedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slot_holds",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("slot_id", sa.Uuid, sa.ForeignKey("time_slots.id"), nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("slot_id", name="slot_holds_slot_id_key"),
        sa.UniqueConstraint("user_id", name="slot_holds_user_id_key"),
    )


def downgrade() -> None:
    op.drop_table("slot_holds")
