"""drop the gateway's Idempotency-Key records: the service a keyed request reaches keeps the key with its answer,
so the gateway keeps none (crm_gateway.idempotency); the records left expire with nothing to answer

Revision ID: 3d9b7f1e5c20
Revises: fe52987fed3a
Create Date: 2026-12-06 08:20:00.000000
"""
from alembic import op
import sqlalchemy as sa

import crm_common.types


revision = '3d9b7f1e5c20'
down_revision = 'fe52987fed3a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_idempotency_records_created_at', table_name='idempotency_records')
    op.drop_table('idempotency_records')


def downgrade() -> None:
    op.create_table(
        'idempotency_records',
        sa.Column('owner_id', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('scope', sa.String(length=300), nullable=False),
        sa.Column('body_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('headers', sa.Text(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('owner_id', 'key'),
    )
    op.create_index('ix_idempotency_records_created_at', 'idempotency_records', ['created_at'])
