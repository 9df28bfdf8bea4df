"""leads: a team's list paged by an index of team and creation time

Revision ID: 30fd60180c30
Revises: 2b9d4e6f8a10
Create Date: 2026-12-04 07:44:11.505297
"""
from alembic import op


revision = '30fd60180c30'
down_revision = '2b9d4e6f8a10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_team_id'))
        batch_op.create_index('ix_leads_team_created', ['team_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_team_created')
        batch_op.create_index(batch_op.f('ix_leads_team_id'), ['team_id'], unique=False)
