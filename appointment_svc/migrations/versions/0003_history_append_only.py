"""booking_status_history is append-only, enforced by the database

Revision ID: 0003_history
Revises: 0002_admin
"""
from alembic import op

revision = "0003_history"
down_revision = "0002_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An audit trail that the application could rewrite is not one: refuse UPDATE and DELETE.
    op.execute(
        """
        CREATE FUNCTION booking_status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'booking_status_history is append-only';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER booking_status_history_append_only BEFORE UPDATE OR DELETE ON booking_status_history "
        "FOR EACH ROW EXECUTE FUNCTION booking_status_history_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER booking_status_history_append_only ON booking_status_history")
    op.execute("DROP FUNCTION booking_status_history_append_only()")
