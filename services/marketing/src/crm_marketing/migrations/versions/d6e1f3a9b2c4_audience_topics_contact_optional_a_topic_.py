"""audience topics: contact_id optional (a lead's opt-out from a topic, by its address, from a topic campaign's
unsubscribe link)

Revision ID: d6e1f3a9b2c4
Revises: a41c7e9d2b35
Create Date: 2026-12-04 19:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'd6e1f3a9b2c4'
down_revision = 'a41c7e9d2b35'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audience_topics', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM audience_topics WHERE contact_id IS NULL")
    with op.batch_alter_table('audience_topics', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=sa.String(length=36), nullable=False)
