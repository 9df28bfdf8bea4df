"""search: trigram indexes on tickets' number and subject and articles' title (PostgreSQL)

Revision ID: f3b8d2a6c915
Revises: 2d8c3b5b261c
Create Date: 2026-12-04 14:00:00

GET /api/v1/search matches lower(column) LIKE '%text%' (crm_common.search); a GIN index of pg_trgm
trigrams answers it without reading the table. SQLite has neither: it skips them.
"""
from alembic import op


revision = 'f3b8d2a6c915'
down_revision = '2d8c3b5b261c'
branch_labels = None
depends_on = None

SEARCHED = {
    "sd_tickets": ("number", "subject"),
    "sd_kb_articles": ("title",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in SEARCHED.items():
        for column in columns:
            op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_{column}_trgm ON {table} "
                       f"USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SEARCHED.items():
        for column in columns:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
