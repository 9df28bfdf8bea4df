"""search: btree indexes of lower(column) in the "C" collation on tickets' number and subject and articles'
title (PostgreSQL)

Revision ID: 7e2b4d6f8a13
Revises: c4e7a2d9f106
Create Date: 2026-12-04 19:40:00

GET /api/v1/search asks for exact matches and prefixes before the trigram indexes (crm_common.search): a btree
of the lowered value in byte order answers both with a range read in order. SQLite skips them.
"""
from alembic import op


revision = '7e2b4d6f8a13'
down_revision = 'c4e7a2d9f106'
branch_labels = None
depends_on = None

SEARCHED = {
    "sd_tickets": ("number", "subject"),
    "sd_kb_articles": ("title",),
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
