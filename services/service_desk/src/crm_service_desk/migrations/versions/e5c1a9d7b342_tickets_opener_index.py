"""index the tickets' opener: an agent's list reads the tickets assigned to them, opened by them or of their groups
as one OR, which PostgreSQL answers from three indexes (a BitmapOr) only when each has one

Revision ID: e5c1a9d7b342
Revises: a6d2f8c4e071
Create Date: 2026-12-06 10:20:00.000000
"""
from alembic import op


revision = 'e5c1a9d7b342'
down_revision = 'a6d2f8c4e071'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_sd_tickets_created_by', 'sd_tickets', ['created_by'])


def downgrade() -> None:
    op.drop_index('ix_sd_tickets_created_by', table_name='sd_tickets')
