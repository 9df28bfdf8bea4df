"""survey tokens kept as SHA-256 digests

Revision ID: a0c91d02f167
Revises: 5c0e1f7b9a21
Create Date: 2026-12-03 22:38:20

Invitations kept their token in clear (and tickets a copy of it). The token of every invitation is
replaced by its SHA-256 digest here, so a link already sent keeps answering its survey; the tickets'
copies are dropped. A downgrade cannot bring the tokens back: it stores the digests in their place
(links sent before stop working, nothing is written in clear).
"""
import hashlib

from alembic import op
import sqlalchemy as sa


revision = 'a0c91d02f167'
down_revision = '5c0e1f7b9a21'
branch_labels = None
depends_on = None

BATCH = 1000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('sd_survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('portal_token_hash', sa.String(length=64), nullable=True))
    invitations = sa.table('sd_survey_invitations', sa.column('id', sa.String), sa.column('token', sa.String),
                           sa.column('token_hash', sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(invitations.c.id, invitations.c.token)
                              .where(invitations.c.token.isnot(None))).all()
    update = invitations.update().where(invitations.c.id == sa.bindparam('row_id')).values(
        token_hash=sa.bindparam('digest'))
    for start in range(0, len(rows), BATCH):
        connection.execute(update, [{'row_id': row.id, 'digest': _digest(row.token)}
                                    for row in rows[start:start + BATCH]])
    with op.batch_alter_table('sd_survey_invitations', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_sd_survey_invitations_token_hash', ['token_hash'])
        batch_op.create_unique_constraint('uq_sd_survey_invitations_portal_token_hash', ['portal_token_hash'])
        batch_op.drop_column('token')
    with op.batch_alter_table('sd_tickets', schema=None) as batch_op:
        batch_op.drop_column('survey_token')


def downgrade() -> None:
    with op.batch_alter_table('sd_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('survey_token', sa.String(length=64), nullable=True))
    with op.batch_alter_table('sd_survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=True))
    invitations = sa.table('sd_survey_invitations', sa.column('id', sa.String), sa.column('token', sa.String),
                           sa.column('token_hash', sa.String))
    op.execute(invitations.update().values(
        token=sa.func.coalesce(invitations.c.token_hash, invitations.c.id)))
    with op.batch_alter_table('sd_survey_invitations', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('sd_survey_invitations_token_key', ['token'])
        batch_op.drop_constraint('uq_sd_survey_invitations_portal_token_hash', type_='unique')
        batch_op.drop_constraint('uq_sd_survey_invitations_token_hash', type_='unique')
        batch_op.drop_column('portal_token_hash')
        batch_op.drop_column('token_hash')
