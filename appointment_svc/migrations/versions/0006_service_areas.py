"""home-visit service areas: the outward-code prefixes each consultant visits

`consultants.postcode_areas` holds upper-case areas, districts or sub-districts (`M`, `SW1`,
`SW1A`), validated and deduplicated by the service (appointment_svc/domain/postcodes.py). Empty,
the default for every existing consultant, means the consultant visits everywhere, so the
diary keeps working as before until staff restrict someone.

Revision ID: 0006_service_areas
Revises: 0005_outbox_trace_context
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_service_areas"
down_revision = "0005_outbox_trace_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "consultants",
        sa.Column("postcode_areas", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    )


def downgrade() -> None:
    op.drop_column("consultants", "postcode_areas")
