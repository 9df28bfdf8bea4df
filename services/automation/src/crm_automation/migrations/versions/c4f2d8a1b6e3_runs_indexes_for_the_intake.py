"""runs' indexes for the intake: the sweep's index holds only the runs still to execute (a run that ends at its
intake never enters it); the one-run-per-event constraint leads with the event, so the runs of one event go in
at one place of it instead of one place per workflow

Revision ID: c4f2d8a1b6e3
Revises: b7e1a9c3d5f2
Create Date: 2026-12-04 19:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c4f2d8a1b6e3'
down_revision = 'b7e1a9c3d5f2'
branch_labels = None
depends_on = None

ACTIVE_RUN = sa.text("status IN ('queued', 'running', 'waiting')")


def upgrade() -> None:
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_runs_workflow_event', type_='unique')
        batch_op.create_unique_constraint('uq_runs_workflow_event', ['trigger_event_id', 'workflow_id'])
        batch_op.drop_index('ix_runs_due')
        batch_op.create_index('ix_runs_due', ['status', 'due_at'], unique=False, sqlite_where=ACTIVE_RUN,
                              postgresql_where=ACTIVE_RUN)


def downgrade() -> None:
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_due', sqlite_where=ACTIVE_RUN, postgresql_where=ACTIVE_RUN)
        batch_op.create_index('ix_runs_due', ['status', 'due_at'], unique=False)
        batch_op.drop_constraint('uq_runs_workflow_event', type_='unique')
        batch_op.create_unique_constraint('uq_runs_workflow_event', ['workflow_id', 'trigger_event_id'])
