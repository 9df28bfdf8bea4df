"""refresh chains remember their first login; sales territory rosters

Revision ID: 5b1e7c2d9a40
Revises: cff473df830c
Create Date: 2026-12-03 22:40:00

`refresh_tokens.session_started_at` bounds a session's whole life (CRM_SESSION_MAX_AGE); existing
chains take the earliest issue time of their tokens. `territory_rosters` / `territory_members` keep the
member lists sales announces, part of each member's territory scope.
"""
from alembic import op
import sqlalchemy as sa

import crm_common.types


revision = '5b1e7c2d9a40'
down_revision = 'cff473df830c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_started_at', crm_common.types.UTCDateTime(timezone=True), nullable=True))
    tokens = sa.table('refresh_tokens', sa.column('chain_id', sa.String), sa.column('issued_at'),
                      sa.column('session_started_at'))
    inner = sa.table('refresh_tokens', sa.column('chain_id', sa.String), sa.column('issued_at')).alias('first')
    first = sa.select(sa.func.min(inner.c.issued_at)).where(inner.c.chain_id == tokens.c.chain_id).scalar_subquery()
    op.execute(tokens.update().values(session_started_at=first))
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.alter_column('session_started_at', existing_type=crm_common.types.UTCDateTime(timezone=True),
                              nullable=False)

    op.create_table(
        'territory_rosters',
        sa.Column('territory_id', sa.String(length=36), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', crm_common.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('territory_id'),
    )
    op.create_table(
        'territory_members',
        sa.Column('territory_id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('territory_id', 'user_id'),
    )
    with op.batch_alter_table('territory_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_territory_members_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('territory_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territory_members_user_id'))
    op.drop_table('territory_members')
    op.drop_table('territory_rosters')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('session_started_at')
