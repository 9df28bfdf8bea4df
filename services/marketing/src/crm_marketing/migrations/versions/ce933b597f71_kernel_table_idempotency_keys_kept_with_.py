"""kernel table: idempotency keys kept with their answers

Revision ID: ce933b597f71
Revises: d6e1f3a9b2c4
Create Date: 2026-12-04 22:11:32.040531
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = 'ce933b597f71'
down_revision = 'd6e1f3a9b2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
