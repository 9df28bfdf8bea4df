"""suppressions: the suppression list (one live entry per address hash)

Revision ID: 3c3621d2acec
Revises: 8ae42f9488de
Create Date: 2026-12-04 03:02:04.339665
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = '3c3621d2acec'
down_revision = '8ae42f9488de'
branch_labels = None
depends_on = None

LIVE = sa.text('deleted_at IS NULL')


def upgrade() -> None:
    op.create_table(
        'suppressions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('email_hash', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('source', sa.String(length=100), nullable=True),
        sa.Column('created_by', sa.String(length=36), nullable=True),
        sa.Column('deleted_at', crm_common.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('deleted_by', sa.String(length=36), nullable=True),
        sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.create_index('ix_suppressions_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_suppressions_email', ['email'], unique=False)
        batch_op.create_index('ux_suppressions_live_email_hash', ['email_hash'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.drop_index('ux_suppressions_live_email_hash', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_index('ix_suppressions_email')
        batch_op.drop_index('ix_suppressions_created_at')
    op.drop_table('suppressions')
