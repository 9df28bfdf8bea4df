"""announce every support group's members (a config_updated event each, through the outbox): the groups' events
carry their members since this revision, and analytics reads them to show a support agent the tickets of their
groups; the groups saved before are announced once here, so their members are known there without a save

Revision ID: a6d2f8c4e071
Revises: 38b5a0ad884d
Create Date: 2026-12-06 07:45:00.000000
"""
import json

from alembic import op
import sqlalchemy as sa


revision = 'a6d2f8c4e071'
down_revision = '38b5a0ad884d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crm_common import outbox, tables
    from crm_service_desk_contracts import CONFIG_UPDATED
    metadata = sa.MetaData()
    tables.install(metadata)  # the kernel's outbox table; the relay publishes its rows
    conn = op.get_bind()
    for group_id, name, members in conn.execute(sa.text(
            "SELECT id, name, member_ids FROM sd_groups WHERE deleted_at IS NULL ORDER BY created_at, id")).all():
        members = json.loads(members) if isinstance(members, str) else members
        outbox.record(conn, metadata, "service_desk", CONFIG_UPDATED,
                      {"entity": "group", "id": group_id, "name": name, "changed_fields": ["member_ids"],
                       "member_ids": list(members or [])}, None, None)


def downgrade() -> None:
    pass  # an announcement made stays made
