"""the tickets' status index on (status, created_at): a report filtered by status reads its page newest first and
its count from it (domain/reports.py), as the status index alone served the count

Revision ID: 0b7c4deab3fb
Revises: 3d6729cc6580
Create Date: 2026-12-05 21:10:00.000000
"""
from alembic import op


revision = '0b7c4deab3fb'
down_revision = '3d6729cc6580'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for gen in ("a", "b"):
        tickets = f"an_tickets_{gen}"
        op.create_index(f"ix_{tickets}_status_created_at", tickets, ["status", "created_at"])
        op.drop_index(f"ix_{tickets}_status", table_name=tickets)


def downgrade() -> None:
    for gen in ("b", "a"):
        tickets = f"an_tickets_{gen}"
        op.create_index(f"ix_{tickets}_status", tickets, ["status"])
        op.drop_index(f"ix_{tickets}_status_created_at", table_name=tickets)
