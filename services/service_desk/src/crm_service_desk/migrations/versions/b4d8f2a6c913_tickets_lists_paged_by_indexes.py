"""tickets: each way a caller sees tickets paged by an index of its column and creation time; every ticket by the
creation time's

Revision ID: b4d8f2a6c913
Revises: e5c1a9d7b342
Create Date: 2026-12-06 15:20:00.000000

A list (visibility.ticket_alternatives, crm_common.paging.paginate_plain) reads the first rows of each way a caller
sees tickets -- assigned, opened, of a group, a customer's contact, email or account -- newest first from an index of
(column, created_at, id), and a manager's (every ticket) from (created_at, id). Each composite index replaces the
column's own: every lookup by the column alone reads it as well.
"""
from alembic import op


revision = 'b4d8f2a6c913'
down_revision = 'e5c1a9d7b342'
branch_labels = None
depends_on = None

LISTED_BY = (  # (the column's index replaced, the index of the list, the column)
    ('ix_sd_tickets_assignee_id', 'ix_sd_tickets_assignee_created', 'assignee_id'),
    ('ix_sd_tickets_created_by', 'ix_sd_tickets_opener_created', 'created_by'),
    ('ix_sd_tickets_group_id', 'ix_sd_tickets_group_created', 'group_id'),
    ('ix_sd_tickets_contact_id', 'ix_sd_tickets_contact_created', 'contact_id'),
    ('ix_sd_tickets_requester_email', 'ix_sd_tickets_requester_created', 'requester_email'),
    ('ix_sd_tickets_account_id', 'ix_sd_tickets_account_created', 'account_id'),
)


def upgrade() -> None:
    with op.batch_alter_table('sd_tickets', schema=None) as batch_op:
        for old, new, column in LISTED_BY:
            batch_op.create_index(new, [column, 'created_at', 'id'], unique=False)
            batch_op.drop_index(old)
        batch_op.create_index('ix_sd_tickets_created', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sd_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_sd_tickets_created')
        for old, new, column in LISTED_BY:
            batch_op.create_index(old, [column], unique=False)
            batch_op.drop_index(new)
