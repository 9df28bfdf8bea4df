"""workflow_runs_ended: on PostgreSQL a GIN index over the row's workflow ids as an array, which a workflow's run
log reads with `@>`, its statistics' sample 10 times the default (SQLite keeps reading the text: a scan, for the
embedded default's small installs)

Revision ID: f3a7c9e1b5d2
Revises: e6b2c8d4f0a7
Create Date: 2026-12-05 04:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f3a7c9e1b5d2'
down_revision = 'e6b2c8d4f0a7'
branch_labels = None
depends_on = None

WORKFLOW_IDS = sa.text("string_to_array(btrim(workflow_ids), ' ')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_runs_ended_workflows', 'workflow_runs_ended', [WORKFLOW_IDS], unique=False,
                        postgresql_using='gin')
        # a rare workflow's own statistics (10 times the default sample), or the planner guesses 0.5 % of the rows
        op.execute("ALTER INDEX ix_runs_ended_workflows ALTER COLUMN 1 SET STATISTICS 1000")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_runs_ended_workflows', table_name='workflow_runs_ended')
