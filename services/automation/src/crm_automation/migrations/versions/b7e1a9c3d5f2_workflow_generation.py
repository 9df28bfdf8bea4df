"""workflow generation: the token the intake's cache of compiled workflows checks per event

Revision ID: b7e1a9c3d5f2
Revises: 4de0226fa2c4
Create Date: 2026-12-04 16:00:00
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = 'b7e1a9c3d5f2'
down_revision = '4de0226fa2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('workflow_generation',
                            sa.Column('key', sa.String(length=20), nullable=False),
                            sa.Column('token', sa.String(length=36), nullable=False),
                            sa.PrimaryKeyConstraint('key'))
    op.bulk_insert(table, [{"key": "workflows", "token": str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_table('workflow_generation')
