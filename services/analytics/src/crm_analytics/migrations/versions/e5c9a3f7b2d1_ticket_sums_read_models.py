"""tickets pre-counted (an_ticket_sums: counts per dimension and value; an_ticket_times: first response and
resolution times in buckets), filled from the tickets already there

Revision ID: e5c9a3f7b2d1
Revises: d4b8e2f6a1c7
Create Date: 2026-12-05 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5c9a3f7b2d1'
down_revision = 'd4b8e2f6a1c7'
branch_labels = None
depends_on = None

COUNTS = ("opened", "backlog", "with_policy", "breached", "reopened", "solved", "solved_reopened", "responded")


def upgrade() -> None:
    from crm_analytics.models import GENERATIONS
    from crm_analytics.projections import ticket_sums  # what live batches add, here for every ticket
    for gen in ("a", "b"):
        op.create_table(
            f"an_ticket_sums_{gen}",
            sa.Column("dimension", sa.String(length=10), nullable=False),
            sa.Column("value", sa.String(length=80), nullable=False),
            *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
            sa.PrimaryKeyConstraint("dimension", "value"),
        )
        op.create_table(
            f"an_ticket_times_{gen}",
            sa.Column("dimension", sa.String(length=10), nullable=False),
            sa.Column("value", sa.String(length=80), nullable=False),
            sa.Column("measure", sa.String(length=20), nullable=False),
            sa.Column("bucket", sa.Integer(), nullable=False),
            sa.Column("tickets", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("dimension", "value", "measure", "bucket"),
        )
        ticket_sums.fill(op.get_bind(), GENERATIONS[gen])


def downgrade() -> None:
    for gen in ("b", "a"):
        op.drop_table(f"an_ticket_times_{gen}")
        op.drop_table(f"an_ticket_sums_{gen}")
