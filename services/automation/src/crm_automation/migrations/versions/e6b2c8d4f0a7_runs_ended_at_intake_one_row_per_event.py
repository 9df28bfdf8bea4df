"""workflow_runs_ended: the runs of one event that ended at its intake (skipped on their conditions, stopped by the
loop guard) in one row for them all, read back by the run log as the runs they are (runs written before stay in
workflow_runs and read as they did)

Revision ID: e6b2c8d4f0a7
Revises: d9a3e5b7c1f4
Create Date: 2026-12-05 03:30:00
"""
from alembic import op
import sqlalchemy as sa

import crm_common.types


revision = 'e6b2c8d4f0a7'
down_revision = 'd9a3e5b7c1f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workflow_runs_ended',
                    sa.Column('id', sa.String(length=36), nullable=False),
                    sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('trigger_event_id', sa.String(length=64), nullable=True),
                    sa.Column('trigger_type', sa.String(length=200), nullable=True),
                    sa.Column('resource', sa.String(length=64), nullable=True),
                    sa.Column('record_id', sa.String(length=64), nullable=True),
                    sa.Column('depth', sa.Integer(), nullable=False),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('workflow_ids', sa.Text(), nullable=False),
                    sa.Column('runs', sa.JSON(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_runs_ended_created', 'workflow_runs_ended', ['created_at'], unique=False)
    op.create_index('ix_runs_ended_record', 'workflow_runs_ended', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_runs_ended_record', table_name='workflow_runs_ended')
    op.drop_index('ix_runs_ended_created', table_name='workflow_runs_ended')
    op.drop_table('workflow_runs_ended')
