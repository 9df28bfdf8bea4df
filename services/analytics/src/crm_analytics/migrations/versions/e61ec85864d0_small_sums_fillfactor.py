"""PostgreSQL: the small pre-counted tables every batch updates in place (the tickets' counts, the campaigns'
counters, the stays per hour) keep room on each page for the rows' new versions (fillfactor 20), so that an update
stays on its page (a HOT update: no index entry, no page added) when the page cannot be pruned at that moment

Revision ID: e61ec85864d0
Revises: e5c9a3f7b2d1
Create Date: 2026-12-05 15:40:00.000000
"""
from alembic import op


revision = 'e61ec85864d0'
down_revision = 'e5c9a3f7b2d1'
branch_labels = None
depends_on = None

TABLES = ("ticket_sums", "campaign_stats", "stage_times")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("a", "b"):
        for name in TABLES:
            op.execute(f'ALTER TABLE "an_{name}_{gen}" SET (fillfactor = 20)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("b", "a"):
        for name in TABLES:
            op.execute(f'ALTER TABLE "an_{name}_{gen}" RESET (fillfactor)')
