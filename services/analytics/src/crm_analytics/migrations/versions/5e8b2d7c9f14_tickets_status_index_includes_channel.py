"""PostgreSQL: the tickets' (status, created_at) index with their channel included (a report filtered by status and
channel counts by an index-only scan)

Revision ID: 5e8b2d7c9f14
Revises: b3e7d1f5a9c2
Create Date: 2026-12-06 05:20:00.000000
"""
from alembic import op


revision = '5e8b2d7c9f14'
down_revision = 'b3e7d1f5a9c2'
branch_labels = None
depends_on = None


def _status_index(include: list[str] | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for gen in ("a", "b"):
        tickets = f"an_tickets_{gen}"
        op.drop_index(f"ix_{tickets}_status_created_at", table_name=tickets)
        op.create_index(f"ix_{tickets}_status_created_at", tickets, ["status", "created_at"],
                        postgresql_include=include or [])


def upgrade() -> None:
    _status_index(["channel"])


def downgrade() -> None:
    _status_index(None)
