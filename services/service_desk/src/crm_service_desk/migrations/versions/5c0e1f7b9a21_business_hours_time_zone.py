"""business hours: an IANA time zone (daylight saving) besides the fixed offset

Revision ID: 5c0e1f7b9a21
Revises: 9bfda414424b
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5c0e1f7b9a21'
down_revision = '9bfda414424b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sd_business_hours', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sd_business_hours', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
