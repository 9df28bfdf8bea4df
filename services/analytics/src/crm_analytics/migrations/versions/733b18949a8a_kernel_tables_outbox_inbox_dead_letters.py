"""kernel tables: outbox, inbox, dead letters

Revision ID: 733b18949a8a
Revises:
Create Date: 2026-11-23 18:44:21.985172
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = '733b18949a8a'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
