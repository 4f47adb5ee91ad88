"""personal data (issue 15): erasure and retention

- bookings.anonymised_at, brochure_requests.anonymised_at: when the personal fields were
  blanked (erasure or retention); NULL while they hold what the customer gave.
- outbox.owner_id (the booking or brochure request an event is about) and outbox.stream_seq (its
  JetStream sequence, from the PubAck): what the erasure follow-up needs to find the copies of an
  erased person's events outside PostgreSQL.
- personal_data_scrubs: one row per erased booking or brochure request whose copies outside the
  tables (event stream, dead-letter stream, sent ledger, outbox payloads) are still to be removed;
  `fingerprints` are the sent ledger's recipient hashes of its addresses (never the addresses).
- booking_status_history stays append-only except for one narrow UPDATE: blanking the reason of a
  cancellation of an anonymised booking, nothing else in the row changing (the audit trail keeps
  who, when and which transition).

Revision ID: 0011_gdpr
Revises: 0010_event_sequence
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_gdpr"
down_revision = "0010_event_sequence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    op.add_column("brochure_requests", sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    # Retention's scans: the bookings and requests not yet anonymised, oldest first.
    op.create_index("ix_bookings_retention", "bookings", ["slot_starts_at"], postgresql_where=sa.text("anonymised_at IS NULL"))
    op.create_index(
        "ix_brochure_requests_retention", "brochure_requests", ["created_at"], postgresql_where=sa.text("anonymised_at IS NULL")
    )
    op.create_index("ix_bookings_recipient", "bookings", ["recipient"])
    op.add_column("outbox", sa.Column("owner_id", sa.Uuid))
    op.add_column("outbox", sa.Column("stream_seq", sa.BigInteger))
    op.create_index("ix_outbox_owner", "outbox", ["owner_id"])
    op.create_table(
        "personal_data_scrubs",
        sa.Column("owner_id", sa.Uuid, primary_key=True),
        sa.Column("fingerprints", sa.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("done_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_personal_data_scrubs_pending", "personal_data_scrubs", ["requested_at"], postgresql_where=sa.text("done_at IS NULL")
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION booking_status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND NEW.reason = ''
               AND NEW.to_status = 'CANCELLED'
               AND (NEW.id, NEW.booking_id, NEW.from_status, NEW.to_status, NEW.changed_by, NEW.changed_at, NEW.kind)
                   IS NOT DISTINCT FROM (OLD.id, OLD.booking_id, OLD.from_status, OLD.to_status, OLD.changed_by, OLD.changed_at, OLD.kind)
               AND EXISTS (SELECT 1 FROM bookings WHERE id = NEW.booking_id AND anonymised_at IS NOT NULL)
            THEN
                RETURN NEW;  -- erasing a cancellation's free-text reason (issue 15)
            END IF;
            RAISE EXCEPTION 'booking_status_history is append-only';
        END $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION booking_status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'booking_status_history is append-only';
        END $$
        """
    )
    op.drop_table("personal_data_scrubs")
    op.drop_index("ix_outbox_owner", table_name="outbox")
    op.drop_column("outbox", "stream_seq")
    op.drop_column("outbox", "owner_id")
    op.drop_index("ix_bookings_recipient", table_name="bookings")
    op.drop_index("ix_brochure_requests_retention", table_name="brochure_requests")
    op.drop_index("ix_bookings_retention", table_name="bookings")
    op.drop_column("brochure_requests", "anonymised_at")
    op.drop_column("bookings", "anonymised_at")
