"""kernel table: idempotency keys kept with their answers

Revision ID: 4ef3af92e33d
Revises: 8d3f1c6a2e47
Create Date: 2026-12-04 22:11:32.056271
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = '4ef3af92e33d'
down_revision = '8d3f1c6a2e47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
