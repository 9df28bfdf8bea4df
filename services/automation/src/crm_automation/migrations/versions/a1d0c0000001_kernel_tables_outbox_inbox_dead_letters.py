"""kernel tables: outbox, inbox, dead letters

Revision ID: a1d0c0000001
Revises:
Create Date: 2026-12-04 12:45:00
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = 'a1d0c0000001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
