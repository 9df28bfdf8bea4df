"""search: btree indexes of lower(column) in the "C" collation on the searched columns (PostgreSQL)

Revision ID: 3c5e7a9b1d24
Revises: c4a8e2f6b1d9
Create Date: 2026-12-04 19:40:00

GET /api/v1/search asks for exact matches (lower(column) = text) and prefixes (lower(column) LIKE 'text%',
the first of each column in order) before it asks the trigram indexes for the rest (crm_common.search): a
btree of the lowered value in byte order answers both with a range read in order, where the trigram index
had to gather every row holding the text's trigrams first. SQLite has no such collation: it skips them.
"""
from alembic import op


revision = '3c5e7a9b1d24'
down_revision = 'c4a8e2f6b1d9'
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
    for table, columns in SEARCHED.items():
        for column in columns:
            op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_{column}_lower ON {table} '
                       f'((lower({column})) COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SEARCHED.items():
        for column in columns:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_lower")
