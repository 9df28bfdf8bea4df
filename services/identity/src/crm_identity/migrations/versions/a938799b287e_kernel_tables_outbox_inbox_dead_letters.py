"""kernel tables: outbox, inbox, dead letters

Revision ID: a938799b287e
Revises:
Create Date: 2026-11-23 18:44:18.034900
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = 'a938799b287e'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
