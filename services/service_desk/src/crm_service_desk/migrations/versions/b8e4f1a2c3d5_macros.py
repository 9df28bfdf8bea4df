"""macros: canned replies agents put on tickets

Revision ID: b8e4f1a2c3d5
Revises: 7e2b4d6f8a13
Create Date: 2026-12-04 20:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = 'b8e4f1a2c3d5'
down_revision = '7e2b4d6f8a13'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sd_macros',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('team_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('deleted_at', crm_common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sd_macros', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sd_macros_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sd_macros', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sd_macros_team_id'))
    op.drop_table('sd_macros')
