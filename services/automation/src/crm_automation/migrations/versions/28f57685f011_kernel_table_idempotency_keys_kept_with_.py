"""kernel table: idempotency keys kept with their answers

Revision ID: 28f57685f011
Revises: c4f2d8a1b6e3
Create Date: 2026-12-04 22:11:32.063406
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = '28f57685f011'
down_revision = 'c4f2d8a1b6e3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
