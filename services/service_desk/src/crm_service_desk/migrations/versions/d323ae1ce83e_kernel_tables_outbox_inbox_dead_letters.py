"""kernel tables: outbox, inbox, dead letters

Revision ID: d323ae1ce83e
Revises:
Create Date: 2026-11-23 18:44:20.111031
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = 'd323ae1ce83e'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
