"""runs: the one-run-per-(event, workflow) unique index kept for schedule runs only (a partial index): a schedule
fired by two replicas at once still gives one run per fire time, while an event's runs, once per event already
(written in the transaction that claims the event in the inbox), no longer each go into a unique index at the
random place of the event's id

Revision ID: d9a3e5b7c1f4
Revises: 28f57685f011
Create Date: 2026-12-05 00:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd9a3e5b7c1f4'
down_revision = '28f57685f011'
branch_labels = None
depends_on = None

SCHEDULED_RUN = sa.text("trigger_type = 'schedule'")


def upgrade() -> None:
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_runs_workflow_event', type_='unique')
        batch_op.create_index('uq_runs_schedule_fire', ['trigger_event_id', 'workflow_id'], unique=True,
                              sqlite_where=SCHEDULED_RUN, postgresql_where=SCHEDULED_RUN)


def downgrade() -> None:
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_runs_schedule_fire', sqlite_where=SCHEDULED_RUN, postgresql_where=SCHEDULED_RUN)
        batch_op.create_unique_constraint('uq_runs_workflow_event', ['trigger_event_id', 'workflow_id'])
