"""tickets pre-counted per support group: the team's row of a ticket (which no live ticket fills) becomes its team x
support group x channel x policy row (`tgcp`: a support agent's figures are their groups' rows summed), the team's
times its team x group times (`tg`); keys widened (an_ticket_sums value 240, an_ticket_times value 160); both
generations counted again from their tickets. The tickets' group index also holds the account (an agent's groups'
top accounts by an index-only scan), their assignee's and opener's indexes the group (an agent's tickets outside
their groups by index ranges)

Revision ID: 3b8f0d2e6a91
Revises: 7c4a9e2b6d18
Create Date: 2026-12-06 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '3b8f0d2e6a91'
down_revision = '7c4a9e2b6d18'
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


def _widths(gen: str, sums: int, times: int, was: tuple) -> None:
    for table, width, before in ((f"an_ticket_sums_{gen}", sums, was[0]), (f"an_ticket_times_{gen}", times, was[1])):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("value", type_=sa.String(length=width), existing_type=sa.String(length=before),
                               existing_nullable=False)


INDEXES = ((["group_id"], ["group_id", "account_id"]), (["owner_id"], ["owner_id", "group_id"]),
           (["created_by"], ["created_by", "group_id"]))  # the tickets' (before, after)


def _index(gen: str, was: list, columns: list) -> None:
    tickets = f"an_tickets_{gen}"
    op.drop_index(f"ix_{tickets}_{'_'.join(was)}", table_name=tickets)
    op.create_index(f"ix_{tickets}_{'_'.join(columns)}", tickets, columns)


def upgrade() -> None:
    from crm_analytics.models import GENERATIONS
    from crm_analytics.projections import ticket_sums  # what live batches add, here for every ticket
    conn = op.get_bind()
    for gen in ("a", "b"):
        _widths(gen, 240, 160, (160, 80))
        for table in _tables(gen):
            conn.execute(table.delete())
        ticket_sums.fill(conn, GENERATIONS[gen])
        for was, columns in INDEXES:
            _index(gen, was, columns)


def downgrade() -> None:
    """The team rows summed from the team x group ones (counts and times), which are deleted."""
    conn = op.get_bind()
    for gen in ("b", "a"):
        sums, times = _tables(gen)
        teams: dict = {}
        for value, *counts in conn.execute(sa.select(sums.c.value, *[sums.c[n] for n in COUNTS])
                                           .where(sums.c.dimension == "tgcp")):
            into = teams.setdefault(value.split(SEP)[0], [0] * len(COUNTS))
            for i, n in enumerate(counts):
                into[i] += n
        timed: dict = {}
        for value, measure, bucket, n in conn.execute(sa.select(times.c.value, times.c.measure, times.c.bucket,
                                                                times.c.tickets).where(times.c.dimension == "tg")):
            key = (value.split(SEP)[0], measure, bucket)
            timed[key] = timed.get(key, 0) + n
        conn.execute(sums.delete().where(sums.c.dimension == "tgcp"))
        conn.execute(times.delete().where(times.c.dimension == "tg"))
        if teams:
            conn.execute(sums.insert(), [{"dimension": "team", "value": v, **dict(zip(COUNTS, counts))}
                                         for v, counts in teams.items()])
        if timed:
            conn.execute(times.insert(), [{"dimension": "team", "value": v, "measure": m, "bucket": b, "tickets": n}
                                          for (v, m, b), n in timed.items()])
        _widths(gen, 160, 80, (240, 160))
        for was, columns in INDEXES:
            _index(gen, columns, was)
