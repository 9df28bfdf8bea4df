"""The privacy events already in the log keep their bookkeeping only (log.row_of keeps no more of new ones): a
privacy request's address (as its hash) and every export's part (the person's data a service sent) are cut from
the rows logged before, so no copy of an export stays here

Revision ID: f2a6c8d0e4b1
Revises: e61ec85864d0
Create Date: 2026-12-05 16:20:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = 'f2a6c8d0e4b1'
down_revision = 'e61ec85864d0'
branch_labels = None
depends_on = None

KEPT = ("request_id", "kind", "service", "status", "counts")  # log.PRIVACY_KEPT as of this revision


def upgrade() -> None:
    events = sa.table("an_events", sa.column("seq", sa.BigInteger), sa.column("type", sa.String),
                      sa.column("envelope", sa.JSON))
    conn = op.get_bind()
    privacy = sa.or_(events.c.type == "identity.privacy_requested.v1",
                     events.c.type.like("%.privacy_part_completed.v1"))
    for seq, envelope in conn.execute(sa.select(events.c.seq, events.c.envelope).where(privacy)).all():
        data = (envelope or {}).get("data")
        if not isinstance(data, dict):
            continue
        kept = {key: data[key] for key in KEPT if key in data}
        if kept != data:
            conn.execute(events.update().where(events.c.seq == seq).values(envelope={**envelope, "data": kept}))


def downgrade() -> None:
    pass  # what was cut is not kept anywhere
