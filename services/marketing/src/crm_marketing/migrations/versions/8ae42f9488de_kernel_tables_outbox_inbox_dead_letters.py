"""kernel tables: outbox, inbox, dead letters

Revision ID: 8ae42f9488de
Revises:
Create Date: 2026-11-23 18:44:21.068218
"""
from crm_common.migration_ops import create_kernel_tables, drop_kernel_tables

revision = '8ae42f9488de'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()


def downgrade() -> None:
    drop_kernel_tables()
