"""tickets' openers (created_by) and the service desk's group members (an_group_members), so that a support
agent's and a rep's ticket figures cover the tickets the desk shows them: assigned to them, opened by them, or of a
group they belong to; the openers filled from the log's ticket_opened events

Revision ID: 7c4a9e2b6d18
Revises: 5e8b2d7c9f14
Create Date: 2026-12-06 07:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '7c4a9e2b6d18'
down_revision = '5e8b2d7c9f14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for gen in ("a", "b"):
        tickets, members = f"an_tickets_{gen}", f"an_group_members_{gen}"
        op.add_column(tickets, sa.Column("created_by", sa.String(length=64), nullable=True))
        op.execute(f"UPDATE {tickets} SET created_by = o.actor_id FROM (SELECT entity_id, actor_id FROM an_events "
                   f"WHERE type = 'service_desk.ticket_opened.v1' AND actor_id IS NOT NULL) AS o "
                   f"WHERE o.entity_id = {tickets}.id")
        op.create_index(f"ix_{tickets}_group_id", tickets, ["group_id"])
        op.create_index(f"ix_{tickets}_created_by", tickets, ["created_by"])
        op.create_table(
            members,
            sa.Column("id", sa.String(length=160), nullable=False),
            sa.Column("group_id", sa.String(length=64), nullable=True),
            sa.Column("user_id", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(f"ix_{members}_group_id", members, ["group_id"])
        op.create_index(f"ix_{members}_user_id", members, ["user_id"])


def downgrade() -> None:
    for gen in ("b", "a"):
        tickets, members = f"an_tickets_{gen}", f"an_group_members_{gen}"
        op.drop_table(members)
        op.drop_index(f"ix_{tickets}_created_by", table_name=tickets)
        op.drop_index(f"ix_{tickets}_group_id", table_name=tickets)
        op.drop_column(tickets, "created_by")
