"""cache generations: the token that tells each process its cached reference data (custom field definitions,
territories, assignment rules) changed

Revision ID: c4a8e2f6b1d9
Revises: b7d2e4f1a9c3
Create Date: 2026-12-04 19:30:00
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = 'c4a8e2f6b1d9'
down_revision = 'b7d2e4f1a9c3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('cache_generations',
                            sa.Column('key', sa.String(length=40), nullable=False),
                            sa.Column('token', sa.String(length=36), nullable=False),
                            sa.PrimaryKeyConstraint('key'))
    op.bulk_insert(table, [{"key": "reference", "token": str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_table('cache_generations')
