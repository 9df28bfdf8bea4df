"""kernel table: idempotency keys kept with their answers

Revision ID: 38b5a0ad884d
Revises: b8e4f1a2c3d5
Create Date: 2026-12-04 22:11:32.026500
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = '38b5a0ad884d'
down_revision = 'b8e4f1a2c3d5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
