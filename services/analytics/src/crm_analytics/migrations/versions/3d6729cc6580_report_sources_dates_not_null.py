"""the report sources' dates NOT NULL (opportunities', leads', accounts', tickets' created_at, orders' placed_at,
activities' occurred_at, both generations): every projection that makes such a row sets it, so a report's page
ordered by it newest first is a plain DESC, which the ascending index read backward serves (domain/reports.py).
A row without one (none expected) gets the time of the first event the log keeps of its record, else its
`event_at` (tickets, opportunities), else the upgrade's time

Revision ID: 3d6729cc6580
Revises: f2a6c8d0e4b1
Create Date: 2026-12-05 21:00:00.000000
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import crm_common.types


revision = '3d6729cc6580'
down_revision = 'f2a6c8d0e4b1'
branch_labels = None
depends_on = None

DATED = {"opportunities": "created_at", "leads": "created_at", "accounts": "created_at", "tickets": "created_at",
         "orders": "placed_at", "activities": "occurred_at"}
WITH_EVENT_AT = ("opportunities", "tickets")
CHUNK = 500


def _fill(conn, name: str, model: str, column: str, now: datetime) -> None:
    """The rows of `name` without `column`: the first event the log keeps of each (one pass over the log), else
    their `event_at`, else `now`."""
    table = sa.table(name, sa.column("id", sa.String), sa.column(column, crm_common.types.UTCDateTime()),
                     *([sa.column("event_at", crm_common.types.UTCDateTime())] if model in WITH_EVENT_AT else []))
    events = sa.table("an_events", sa.column("entity_id", sa.String),
                      sa.column("occurred_at", crm_common.types.UTCDateTime()))
    empty = sa.select(table.c.id).where(table.c[column].is_(None))
    if conn.execute(empty.limit(1)).first() is None:
        return
    first = dict(conn.execute(sa.select(events.c.entity_id, sa.func.min(events.c.occurred_at))
                              .where(events.c.entity_id.in_(empty)).group_by(events.c.entity_id)).all())
    rows = conn.execute(sa.select(table.c.id, table.c.event_at if model in WITH_EVENT_AT else sa.null())
                        .where(table.c[column].is_(None))).all()
    values = [{"b_id": id_, "b_at": first.get(id_) or event_at or now} for id_, event_at in rows]
    statement = table.update().where(table.c.id == sa.bindparam("b_id")).values({column: sa.bindparam("b_at")})
    for start in range(0, len(values), CHUNK):
        conn.execute(statement, values[start:start + CHUNK])


def upgrade() -> None:
    conn, now = op.get_bind(), datetime.now(timezone.utc)
    for gen in ("a", "b"):
        for model, column in DATED.items():
            name = f"an_{model}_{gen}"
            _fill(conn, name, model, column, now)
            with op.batch_alter_table(name, schema=None) as batch_op:
                batch_op.alter_column(column, existing_type=crm_common.types.UTCDateTime(timezone=True),
                                      nullable=False)


def downgrade() -> None:
    for gen in ("b", "a"):
        for model, column in reversed(DATED.items()):
            with op.batch_alter_table(f"an_{model}_{gen}", schema=None) as batch_op:
                batch_op.alter_column(column, existing_type=crm_common.types.UTCDateTime(timezone=True),
                                      nullable=True)
