"""leads: drop ix_leads_owner_id, a prefix of ix_leads_owner_created

Revision ID: 2b9d4e6f8a10
Revises: f8a6c3b3cc00
Create Date: 2026-12-03 14:00:00

Every lookup by owner (scope "own", least-loaded assignment, reassignment on deactivation) can use
ix_leads_owner_created, whose first column is owner_id; each inserted lead updated both.
"""
from alembic import op


revision = '2b9d4e6f8a10'
down_revision = 'f8a6c3b3cc00'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_owner_id')


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_owner_id', ['owner_id'], unique=False)
