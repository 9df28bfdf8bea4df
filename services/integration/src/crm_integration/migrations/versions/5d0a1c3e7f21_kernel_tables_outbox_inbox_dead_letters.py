"""kernel tables: outbox, inbox, dead letters

Revision ID: 5d0a1c3e7f21
Revises:
Create Date: 2026-12-04 12:50:00.000000
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = '5d0a1c3e7f21'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
