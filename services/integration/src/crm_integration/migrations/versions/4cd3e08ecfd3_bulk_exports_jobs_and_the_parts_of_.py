"""bulk exports: jobs and the parts of their files

Revision ID: 4cd3e08ecfd3
Revises: 5323047da980
Create Date: 2026-12-04 15:48:08.810196
"""
from alembic import op
import sqlalchemy as sa
import crm_common.types


revision = '4cd3e08ecfd3'
down_revision = '5323047da980'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('actor', sa.JSON(), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', crm_common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', crm_common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_jobs_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_jobs_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_jobs_status'), ['status'], unique=False)

    op.create_table('export_parts',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('part', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', 'part')
    )


def downgrade() -> None:
    op.drop_table('export_parts')
    with op.batch_alter_table('crm_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_crm_jobs_owner_id'))
        batch_op.drop_index(batch_op.f('ix_crm_jobs_kind'))

    op.drop_table('crm_jobs')
