"""The privacy parts already in the log lose the person's data an export's part carried (log.row_of keeps no
more of new ones: crm_common.privacy.without_export), so no copy of an export stays here

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


def upgrade() -> None:
    events = sa.table("an_events", sa.column("seq", sa.BigInteger), sa.column("type", sa.String),
                      sa.column("envelope", sa.JSON))
    conn = op.get_bind()
    parts = events.c.type.like("%.privacy_part_completed.v1")
    for seq, envelope in conn.execute(sa.select(events.c.seq, events.c.envelope).where(parts)).all():
        data = (envelope or {}).get("data")
        if isinstance(data, dict) and data.get("data") is not None:
            conn.execute(events.update().where(events.c.seq == seq)
                         .values(envelope={**envelope, "data": {**data, "data": None}}))


def downgrade() -> None:
    pass  # what was cut is not kept anywhere
