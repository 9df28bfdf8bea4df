"""the privacy parts already in the feed and its webhook deliveries lose the person's data an export's part
carried (the feed keeps no more of new ones: crm_common.privacy.without_export), so that neither the feed's
readers nor a webhook's receiver get a copy of an export

Revision ID: c4e8a2f6b0d3
Revises: b53dd7bda89e
Create Date: 2026-12-05 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f6b0d3'
down_revision = 'b53dd7bda89e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for name, key, type_column in (("feed_events", "seq", "type"), ("webhook_deliveries", "id", "event_type")):
        table = sa.table(name, sa.column(key), sa.column(type_column, sa.String), sa.column("envelope", sa.JSON))
        parts = table.c[type_column].like("%.privacy_part_completed.v1")
        for row_key, envelope in conn.execute(sa.select(table.c[key], table.c.envelope).where(parts)).all():
            data = (envelope or {}).get("data")
            if isinstance(data, dict) and data.get("data") is not None:
                conn.execute(table.update().where(table.c[key] == row_key)
                             .values(envelope={**envelope, "data": {**data, "data": None}}))


def downgrade() -> None:
    pass  # what was cut is not kept anywhere
