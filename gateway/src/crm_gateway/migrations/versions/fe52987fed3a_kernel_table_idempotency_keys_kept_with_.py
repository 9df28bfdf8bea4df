"""kernel table: idempotency keys kept with their answers

Revision ID: fe52987fed3a
Revises: e92e6213451a
Create Date: 2026-12-04 22:11:32.072712
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = 'fe52987fed3a'
down_revision = 'e92e6213451a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
