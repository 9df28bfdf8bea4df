"""kernel table: idempotency keys kept with their answers

Revision ID: f51bbcca685f
Revises: a5d19de63ac7
Create Date: 2026-12-04 22:11:31.988197
"""
from crm_common.migration_ops import create_idempotency_table, drop_idempotency_table


revision = 'f51bbcca685f'
down_revision = 'a5d19de63ac7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
