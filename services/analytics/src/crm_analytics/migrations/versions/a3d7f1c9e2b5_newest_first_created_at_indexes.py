"""PostgreSQL: the tickets' and leads' creation-time indexes newest first, those with no time last (created_at DESC
NULLS LAST), the order a report's page reads them in by default (readmodels.newest_first): read from the index,
not sorted whole (an ascending index read backwards gives NULLS FIRST). SQLite keeps its plain index.

Revision ID: a3d7f1c9e2b5
Revises: f2a6c8d0e4b1
Create Date: 2026-12-05 19:10:00.000000
"""
from alembic import op


revision = 'a3d7f1c9e2b5'
down_revision = 'f2a6c8d0e4b1'
branch_labels = None
depends_on = None

TABLES = ("tickets", "leads")


def _recreate(order: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("a", "b"):
        for name in TABLES:
            index, table = f"ix_an_{name}_{gen}_created_at", f"an_{name}_{gen}"
            op.execute(f'DROP INDEX IF EXISTS "{index}"')
            op.execute(f'CREATE INDEX "{index}" ON "{table}" (created_at{order})')


def upgrade() -> None:
    _recreate(" DESC NULLS LAST")


def downgrade() -> None:
    _recreate("")
