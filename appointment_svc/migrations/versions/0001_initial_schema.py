"""initial schema

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('brochure_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('first_name', sa.Text(), nullable=False),
    sa.Column('last_name', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=False),
    sa.Column('postcode', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('consultants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('avatar_url', sa.Text(), nullable=False),
    sa.Column('categories', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('cardinality(categories) > 0', name='consultants_has_category'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_outbox_unpublished', 'outbox', ['created_at'], unique=False, postgresql_where=sa.text('published_at IS NULL'))
    op.create_table('reference_counters',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('time_slots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consultant_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_booked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_blocked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type IN ('HOME_MEASUREMENT','SHOWROOM_VISIT','VIDEO_CONSULTATION')", name='time_slots_known_type'),
    sa.CheckConstraint('ends_at > starts_at', name='time_slots_positive_length'),
    sa.ForeignKeyConstraint(['consultant_id'], ['consultants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    # A consultant cannot be in two places at once: overlapping slots are refused by the database.
    op.execute(
        "ALTER TABLE time_slots ADD CONSTRAINT time_slots_no_overlap "
        "EXCLUDE USING gist (consultant_id WITH =, tstzrange(starts_at, ends_at) WITH &&)"
    )
    op.create_index('ix_time_slots_consultant_start', 'time_slots', ['consultant_id', 'starts_at'], unique=False)
    op.create_index('ix_time_slots_open_by_type_start', 'time_slots', ['type', 'starts_at'], unique=False, postgresql_where=sa.text('NOT is_booked AND NOT is_blocked'))
    op.create_table('bookings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference_code', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('for_kitchen', sa.Boolean(), nullable=False),
    sa.Column('for_bedroom', sa.Boolean(), nullable=False),
    sa.Column('first_name', sa.Text(), nullable=False),
    sa.Column('last_name', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=False),
    sa.Column('postcode', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('slot_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.Column('request_fingerprint', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("status IN ('PENDING','CONFIRMED','CANCELLED','COMPLETED','NO_SHOW')", name='bookings_known_status'),
    sa.CheckConstraint("type IN ('HOME_MEASUREMENT','SHOWROOM_VISIT','VIDEO_CONSULTATION')", name='bookings_known_type'),
    sa.CheckConstraint('for_kitchen OR for_bedroom', name='bookings_some_service'),
    sa.ForeignKeyConstraint(['slot_id'], ['time_slots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference_code')
    )
    op.create_index('ix_bookings_created', 'bookings', ['created_at'], unique=False)
    op.create_index('ix_bookings_email_lower', 'bookings', [sa.literal_column('lower(email)')], unique=False)
    op.create_index('ix_bookings_status_created', 'bookings', ['status', 'created_at'], unique=False)
    op.create_index('ix_bookings_user_created', 'bookings', ['user_id', 'created_at'], unique=False)
    op.create_index('uq_bookings_active_slot', 'bookings', ['slot_id'], unique=True, postgresql_where=sa.text("status IN ('PENDING','CONFIRMED')"))
    op.create_index('uq_bookings_user_request', 'bookings', ['user_id', 'request_id'], unique=True, postgresql_where=sa.text('request_id IS NOT NULL'))
    op.create_table('booking_status_history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.Text(), nullable=True),
    sa.Column('to_status', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_booking_status_history_booking_id'), 'booking_status_history', ['booking_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_booking_status_history_booking_id'), table_name='booking_status_history')
    op.drop_table('booking_status_history')
    op.drop_index('uq_bookings_user_request', table_name='bookings', postgresql_where=sa.text('request_id IS NOT NULL'))
    op.drop_index('uq_bookings_active_slot', table_name='bookings', postgresql_where=sa.text("status IN ('PENDING','CONFIRMED')"))
    op.drop_index('ix_bookings_user_created', table_name='bookings')
    op.drop_index('ix_bookings_status_created', table_name='bookings')
    op.drop_index('ix_bookings_email_lower', table_name='bookings')
    op.drop_index('ix_bookings_created', table_name='bookings')
    op.drop_table('bookings')
    op.drop_index('ix_time_slots_open_by_type_start', table_name='time_slots', postgresql_where=sa.text('NOT is_booked AND NOT is_blocked'))
    op.drop_index('ix_time_slots_consultant_start', table_name='time_slots')
    op.drop_table('time_slots')
    op.drop_table('reference_counters')
    op.drop_index('ix_outbox_unpublished', table_name='outbox', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_table('outbox')
    op.drop_table('consultants')
    op.drop_table('brochure_requests')
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
