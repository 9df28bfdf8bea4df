"""event feed: ordered events and their counter

Revision ID: 8e4b2f6a9c13
Revises: 5d0a1c3e7f21
Create Date: 2026-12-04 12:51:00.000000
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = '8e4b2f6a9c13'
down_revision = '5d0a1c3e7f21'
branch_labels = None
depends_on = None


def upgrade() -> None:
    counter = op.create_table('feed_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])  # the one row every writer updates
    op.create_table('feed_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=120), nullable=False),
    sa.Column('producer', sa.String(length=40), nullable=True),
    sa.Column('occurred_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('team_id', sa.String(length=64), nullable=True),
    sa.Column('territory_id', sa.String(length=64), nullable=True),
    sa.Column('envelope', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('feed_events', schema=None) as batch_op:
        batch_op.create_index('ix_feed_events_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_feed_events_type_seq', ['type', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_events', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_events_type_seq')
        batch_op.drop_index('ix_feed_events_received_at')
    op.drop_table('feed_events')
    op.drop_table('feed_counter')
