"""files on tickets

Revision ID: c4e7a2d9f106
Revises: f3b8d2a6c915
Create Date: 2026-12-04 16:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = 'c4e7a2d9f106'
down_revision = 'f3b8d2a6c915'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resource', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', crm_common.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_record_id'), ['record_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_record_id'))
    op.drop_table('attachments')
