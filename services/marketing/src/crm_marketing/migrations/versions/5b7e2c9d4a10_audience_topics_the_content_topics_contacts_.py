"""audience topics: the content topics contacts are subscribed to (from sales' content subscriptions)

Revision ID: 5b7e2c9d4a10
Revises: 2df34db17a0d
Create Date: 2026-12-04 13:58:00.000000
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = '5b7e2c9d4a10'
down_revision = '2df34db17a0d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audience_topics',
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=True),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('changed_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audience_topics', schema=None) as batch_op:
        batch_op.create_index('ix_audience_topics_contact', ['contact_id', 'topic'], unique=False)
        batch_op.create_index('ix_audience_topics_email_hash', ['email_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audience_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_audience_topics_email_hash')
        batch_op.drop_index('ix_audience_topics_contact')
    op.drop_table('audience_topics')
