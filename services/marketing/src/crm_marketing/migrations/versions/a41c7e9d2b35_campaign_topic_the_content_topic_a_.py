"""campaign topic: the content topic a campaign is for (its send skips who unsubscribed from it)

Revision ID: a41c7e9d2b35
Revises: 5b7e2c9d4a10
Create Date: 2026-12-04 16:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'a41c7e9d2b35'
down_revision = '5b7e2c9d4a10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('topic')
