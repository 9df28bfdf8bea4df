"""tickets pre-counted crossed (an_ticket_sums): month x channel x policy (for the whole company, each month,
channel and policy, no row of their own any more) and channel x account (for each account, no row of its own any
more); their times without the whole company's row (the channels' summed). Keys widened (dimension 40, value
160); both generations counted again from their tickets. The tickets' creation index also holds the account (a dated
range's top accounts by an index-only scan)

Revision ID: a9d3c5e7f1b2
Revises: 0b7c4deab3fb
Create Date: 2026-12-05 20:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'a9d3c5e7f1b2'
down_revision = '0b7c4deab3fb'
branch_labels = None
depends_on = None

COUNTS = ("opened", "backlog", "with_policy", "breached", "reopened", "solved", "solved_reopened", "responded")
SEP = "\x1f"


def _tables(gen: str):
    sums = sa.table(f"an_ticket_sums_{gen}", sa.column("dimension", sa.String), sa.column("value", sa.String),
                    *[sa.column(n, sa.Integer) for n in COUNTS])
    times = sa.table(f"an_ticket_times_{gen}", sa.column("dimension", sa.String), sa.column("value", sa.String),
                     sa.column("measure", sa.String), sa.column("bucket", sa.Integer), sa.column("tickets", sa.Integer))
    return sums, times


def _widths(gen: str, dimension: int, value: int, was: tuple) -> None:
    with op.batch_alter_table(f"an_ticket_sums_{gen}") as batch:
        batch.alter_column("dimension", type_=sa.String(length=dimension), existing_type=sa.String(length=was[0]),
                           existing_nullable=False)
        batch.alter_column("value", type_=sa.String(length=value), existing_type=sa.String(length=was[1]),
                           existing_nullable=False)


def upgrade() -> None:
    from crm_analytics.models import GENERATIONS
    from crm_analytics.projections import ticket_sums  # what live batches add, here for every ticket
    conn = op.get_bind()
    for gen in ("a", "b"):
        _widths(gen, 40, 160, (10, 80))
        for table in _tables(gen):
            conn.execute(table.delete())
        ticket_sums.fill(conn, GENERATIONS[gen])
        op.drop_index(f"ix_an_tickets_{gen}_created_at", table_name=f"an_tickets_{gen}")
        op.create_index(f"ix_an_tickets_{gen}_created_at_account_id", f"an_tickets_{gen}", ["created_at", "account_id"])


def downgrade() -> None:
    """The rows of the whole company, each channel, policy, month and account summed from the crossed ones; the
    crossed ones deleted."""
    conn = op.get_bind()
    for gen in ("b", "a"):
        sums, times = _tables(gen)
        made: dict = {}
        for value, *counts in conn.execute(sa.select(sums.c.value, *[sums.c[n] for n in COUNTS])
                                           .where(sums.c.dimension == "mcp")):
            month, channel, policy = value.split(SEP)
            for key in (("all", ""), ("month", month), ("channel", channel), ("policy", policy)):
                into = made.setdefault(key, [0] * len(COUNTS))
                for i, n in enumerate(counts):
                    into[i] += n
        for dimension, value, *counts in conn.execute(sa.select(sums.c.dimension, sums.c.value,
                                                                *[sums.c[n] for n in COUNTS])):
            if dimension.startswith("ca" + SEP):
                into = made.setdefault(("account", value), [0] * len(COUNTS))
                for i, n in enumerate(counts):
                    into[i] += n
        every: dict = {}
        for measure, bucket, n in conn.execute(sa.select(times.c.measure, times.c.bucket, times.c.tickets)
                                               .where(times.c.dimension == "channel")):
            every[(measure, bucket)] = every.get((measure, bucket), 0) + n
        conn.execute(sums.delete().where(sa.or_(sums.c.dimension == "mcp", sums.c.dimension.like("ca" + SEP + "%"))))
        if made:
            conn.execute(sums.insert(), [{"dimension": d, "value": v, **dict(zip(COUNTS, counts))}
                                         for (d, v), counts in made.items()])
        if every:
            conn.execute(times.insert(), [{"dimension": "all", "value": "", "measure": m, "bucket": b, "tickets": n}
                                          for (m, b), n in every.items()])
        _widths(gen, 10, 80, (40, 160))
        op.drop_index(f"ix_an_tickets_{gen}_created_at_account_id", table_name=f"an_tickets_{gen}")
        op.create_index(f"ix_an_tickets_{gen}_created_at", f"an_tickets_{gen}", ["created_at"])
