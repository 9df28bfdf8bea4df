"""claim walks partial indexes of the unsettled deliveries

The claim takes the due deliveries in order of `ix_webhook_deliveries_claim` and checks the earlier unsettled
ones of the same webhook and record in `ix_webhook_deliveries_waiting`: both hold the unsettled deliveries only
(pending, sending, failed), so a claim costs what it takes, not the backlog nor the settled history.

Revision ID: 39612a50eca6
Revises: a21eef3055a6
Create Date: 2026-12-04 22:12:26.397849
"""
from alembic import op
import sqlalchemy as sa


revision = '39612a50eca6'
down_revision = 'a21eef3055a6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_due'))
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_order'))
        batch_op.create_index('ix_webhook_deliveries_claim', ['next_attempt_at', 'seq'], unique=False, postgresql_where=sa.text("status IN ('pending', 'sending', 'failed')"), sqlite_where=sa.text("status IN ('pending', 'sending', 'failed')"))
        batch_op.create_index('ix_webhook_deliveries_waiting', ['webhook_id', 'record_key', 'seq'], unique=False, postgresql_where=sa.text("status IN ('pending', 'sending', 'failed')"), sqlite_where=sa.text("status IN ('pending', 'sending', 'failed')"))



def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_waiting', postgresql_where=sa.text("status IN ('pending', 'sending', 'failed')"), sqlite_where=sa.text("status IN ('pending', 'sending', 'failed')"))
        batch_op.drop_index('ix_webhook_deliveries_claim', postgresql_where=sa.text("status IN ('pending', 'sending', 'failed')"), sqlite_where=sa.text("status IN ('pending', 'sending', 'failed')"))
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_order'), ['webhook_id', 'record_key', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_due'), ['status', 'next_attempt_at'], unique=False)

