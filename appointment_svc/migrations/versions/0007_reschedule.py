"""reschedule: how many times a booking moved to another slot

A rescheduled booking keeps its id, reference and calendar UID; calendars apply an update only if
its SEQUENCE is higher than the one they have, so every invitation about the booking derives its
SEQUENCE from this count (notification_svc/ics.py). Existing bookings never moved: 0.

Revision ID: 0007_reschedule
Revises: 0006_service_areas
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_reschedule"
down_revision = "0006_service_areas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("reschedule_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_check_constraint("bookings_reschedule_count_not_negative", "bookings", "reschedule_count >= 0")


def downgrade() -> None:
    op.drop_constraint("bookings_reschedule_count_not_negative", "bookings")
    op.drop_column("bookings", "reschedule_count")
