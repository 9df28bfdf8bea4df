"""api keys: their own rate limit; the audit names the api key

Revision ID: a5d19de63ac7
Revises: 8ec19b11befa
Create Date: 2026-12-04 15:58:04.672383
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = 'a5d19de63ac7'
down_revision = '8ec19b11befa'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_limit', sa.String(length=60), nullable=True))

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_entries_api_key_id'), ['api_key_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_api_key_id'))
        batch_op.drop_column('api_key_id')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('rate_limit')

