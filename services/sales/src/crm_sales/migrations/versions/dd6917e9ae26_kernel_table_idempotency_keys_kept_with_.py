"""kernel table: idempotency keys kept with their answers

Revision ID: dd6917e9ae26
Revises: 3c5e7a9b1d24
Create Date: 2026-12-04 22:11:32.012409
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = 'dd6917e9ae26'
down_revision = '3c5e7a9b1d24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
