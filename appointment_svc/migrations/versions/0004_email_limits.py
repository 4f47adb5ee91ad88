"""per-recipient email limits: booking emails caused, and brochure requests by canonical address

`booking_emails` holds one row per booking email a request caused (confirmation, cancellation,
staff confirmation), written in the transaction that writes the event, so the 24-hour limit per
recipient holds without Redis. Rows older than the window are pruned as the same address is
counted again; nothing reads them after 24 hours.

`bookings.recipient` is the canonical mailbox of the booking's address: a booking may be made
only while its mailbox has room for its confirmation and for the cancellation notices its own
and the mailbox's other upcoming bookings may still cause. Existing rows get their lower-cased
address (as below).

`brochure_requests.canonical_email` is the mailbox the per-address brochure limit counts
(`Jane.Doe+x@googlemail.com` is `janedoe@gmail.com`). Existing rows get their lower-cased
address: only the last hour's rows are ever counted, so the approximation expires at once.

Revision ID: 0004_email_limits
Revises: 0003_history
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_email_limits"
down_revision = "0003_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_emails",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("booking_id", sa.Uuid, sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_booking_emails_recipient_sent", "booking_emails", ["recipient", "sent_at"])
    op.create_index("ix_booking_emails_booking", "booking_emails", ["booking_id"])
    op.add_column("bookings", sa.Column("recipient", sa.Text, nullable=True))
    op.execute("UPDATE bookings SET recipient = lower(email)")
    op.create_index(
        "ix_bookings_active_recipient", "bookings", ["recipient"], postgresql_where=sa.text("status IN ('PENDING','CONFIRMED')")
    )
    op.add_column("brochure_requests", sa.Column("canonical_email", sa.Text, nullable=True))
    op.execute("UPDATE brochure_requests SET canonical_email = lower(email)")
    op.alter_column("brochure_requests", "canonical_email", nullable=False)
    op.create_index("ix_brochure_requests_canonical_created", "brochure_requests", ["canonical_email", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_brochure_requests_canonical_created", "brochure_requests")
    op.drop_column("brochure_requests", "canonical_email")
    op.drop_index("ix_bookings_active_recipient", "bookings")
    op.drop_column("bookings", "recipient")
    op.drop_table("booking_emails")
