"""a paused webhook's waiting deliveries are held out of the claim

The deliveries waiting (pending, or a retry planned) for a webhook that is paused, disabled or deleted lose
their due time, as pausing does from now on (`webhooks.hold`): the claim walks the unsettled deliveries by due
time and so never reads them; switching the webhook on again makes them due (`webhooks.release`). Test pings,
which go even to a disabled webhook, keep theirs. Downgrade: they are due again (the old claim skipped them).

Revision ID: b53dd7bda89e
Revises: 39612a50eca6
Create Date: 2026-12-04 23:26:53.802765
"""
from alembic import op
import sqlalchemy as sa


revision = 'b53dd7bda89e'
down_revision = '39612a50eca6'
branch_labels = None
depends_on = None


deliveries = sa.table("webhook_deliveries", sa.column("webhook_id", sa.String), sa.column("status", sa.String),
                      sa.column("event_type", sa.String), sa.column("next_attempt_at", sa.DateTime),
                      sa.column("created_at", sa.DateTime))
webhooks = sa.table("webhooks", sa.column("id", sa.String), sa.column("active", sa.Boolean),
                    sa.column("deleted_at", sa.DateTime))
WAITING = deliveries.c.status.in_(("pending", "failed"))


def upgrade() -> None:
    off = sa.select(webhooks.c.id).where(sa.or_(webhooks.c.active.is_(False), webhooks.c.deleted_at.is_not(None)))
    op.execute(deliveries.update().where(WAITING, deliveries.c.webhook_id.in_(off),
                                         deliveries.c.event_type != "integration.webhook_test.v1",
                                         deliveries.c.next_attempt_at.is_not(None)).values(next_attempt_at=None))


def downgrade() -> None:
    op.execute(deliveries.update().where(WAITING, deliveries.c.next_attempt_at.is_(None))
               .values(next_attempt_at=deliveries.c.created_at))
