"""PostgreSQL: an index of the deals won by owner and days to the win (the sales cycle by owner groups them with no
sort by owner, each owner's quantiles over presorted values)

Revision ID: d4b8e2f6a1c7
Revises: c3a9e5f1d2b8
Create Date: 2026-12-05 10:00:00.000000
"""
from alembic import op


revision = 'd4b8e2f6a1c7'
down_revision = 'c3a9e5f1d2b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("a", "b"):
        op.execute(f'CREATE INDEX "ix_an_opportunities_{gen}_won_by_owner" ON "an_opportunities_{gen}" '
                   "(owner_id, date_part('epoch', closed_at - created_at)) INCLUDE (closed_at, created_at) "
                   "WHERE status = 'won' AND closed_at IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("b", "a"):
        op.execute(f'DROP INDEX IF EXISTS "ix_an_opportunities_{gen}_won_by_owner"')
