"""partner tier of won deals and orders

Revision ID: b7d2e4f1a9c3
Revises: e5a1c7d9b203
Create Date: 2026-12-04 16:10:00.000000

A partner's statement shares at the tier the partner had when a deal was won or an order placed. Rows written
before this revision have no stamp: they take the partner's tier of today (as before).
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d2e4f1a9c3'
down_revision = 'e5a1c7d9b203'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_tier', sa.String(length=20), nullable=True))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_tier', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('partner_tier')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_column('partner_tier')
