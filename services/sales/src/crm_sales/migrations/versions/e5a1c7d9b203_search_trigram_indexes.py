"""search: trigram indexes on the searched columns of accounts, contacts, leads, opportunities (PostgreSQL)

Revision ID: e5a1c7d9b203
Revises: d1e4cc621010
Create Date: 2026-12-04 14:00:00

GET /api/v1/search matches lower(column) LIKE '%text%' (crm_common.search); a GIN index of pg_trgm
trigrams answers it without reading the table. SQLite has neither: it skips them.
"""
from alembic import op


revision = 'e5a1c7d9b203'
down_revision = 'd1e4cc621010'
branch_labels = None
depends_on = None

SEARCHED = {
    "accounts": ("name", "phone"),
    "contacts": ("first_name", "last_name", "email", "phone"),
    "leads": ("first_name", "last_name", "company", "email", "phone"),
    "opportunities": ("name",),
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
