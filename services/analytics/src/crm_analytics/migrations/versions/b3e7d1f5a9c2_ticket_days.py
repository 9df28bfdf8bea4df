"""the tickets counted per day of creation, off the projection's path (domain/ticket_days.py): per day x channel x
SLA policy, the day's time buckets, per day and per month x account, and the marks of the days counted or changed
since; both generations, empty (the timer counts the days; until then they are read from the tickets)

Revision ID: b3e7d1f5a9c2
Revises: a9d3c5e7f1b2
Create Date: 2026-12-06 02:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3e7d1f5a9c2'
down_revision = 'a9d3c5e7f1b2'
branch_labels = None
depends_on = None

COUNTS = ("opened", "backlog", "with_policy", "breached", "reopened", "solved", "solved_reopened", "responded")


def upgrade() -> None:
    for gen in ("a", "b"):
        op.create_table(
            f"an_ticket_days_{gen}", sa.Column("day", sa.Date(), nullable=False),
            sa.Column("value", sa.String(length=160), nullable=False),
            *[sa.Column(n, sa.Integer(), nullable=False) for n in COUNTS],
            sa.PrimaryKeyConstraint("day", "value"))
        op.create_table(
            f"an_ticket_day_times_{gen}", sa.Column("day", sa.Date(), nullable=False),
            sa.Column("measure", sa.String(length=20), nullable=False), sa.Column("bucket", sa.Integer(), nullable=False),
            sa.Column("tickets", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("day", "measure", "bucket"))
        op.create_table(
            f"an_ticket_day_accounts_{gen}", sa.Column("day", sa.Date(), nullable=False),
            sa.Column("account_id", sa.String(length=64), nullable=False), sa.Column("tickets", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("day", "account_id"))
        op.create_table(
            f"an_ticket_month_accounts_{gen}", sa.Column("month", sa.Date(), nullable=False),
            sa.Column("account_id", sa.String(length=64), nullable=False), sa.Column("tickets", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("month", "account_id"))
        op.create_table(
            f"an_ticket_day_marks_{gen}", sa.Column("day", sa.Date(), nullable=False),
            sa.Column("state", sa.SmallInteger(), nullable=False),
            sa.PrimaryKeyConstraint("day"))


def downgrade() -> None:
    for gen in ("b", "a"):
        for name in ("ticket_day_marks", "ticket_month_accounts", "ticket_day_accounts", "ticket_day_times",
                     "ticket_days"):
            op.drop_table(f"an_{name}_{gen}")
