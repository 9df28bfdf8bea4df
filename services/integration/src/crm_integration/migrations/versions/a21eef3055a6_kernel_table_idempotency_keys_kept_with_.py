"""kernel table: idempotency keys kept with their answers

Revision ID: a21eef3055a6
Revises: 4cd3e08ecfd3
Create Date: 2026-12-04 22:11:32.068943
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = 'a21eef3055a6'
down_revision = '4cd3e08ecfd3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
