"""TOTP seeds sealed at rest under the data key

Revision ID: cff473df830c
Revises: 43ebd2451251
Create Date: 2026-12-03 13:40:00

The columns grow to hold a sealed value; seeds written in clear before this revision are sealed here,
with the data key (CRM_DATA_KEY_FILE), which must then exist. A database with no second factor
enrolled needs no key to migrate.
"""
from alembic import op
import sqlalchemy as sa

from crm_common.secretbox import is_sealed


revision = 'cff473df830c'
down_revision = '43ebd2451251'
branch_labels = None
depends_on = None

COLUMNS = ('mfa_secret', 'mfa_pending_secret')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.String(length=64), type_=sa.String(length=255),
                                  existing_nullable=True)
    users = sa.table('users', sa.column('id', sa.String), *(sa.column(c, sa.String) for c in COLUMNS))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users).where(sa.or_(*(users.c[c].isnot(None) for c in COLUMNS)))).all()
    pending = [row for row in rows if any(getattr(row, c) and not is_sealed(getattr(row, c)) for c in COLUMNS)]
    if not pending:
        return
    from crm_identity import keys  # the key is needed only when there is something to seal
    box = keys.data_box()
    for row in pending:
        values = {c: box.seal(getattr(row, c), f"totp:{row.id}")
                  for c in COLUMNS if getattr(row, c) and not is_sealed(getattr(row, c))}
        connection.execute(users.update().where(users.c.id == row.id).values(**values))


def downgrade() -> None:
    # sealed seeds stay sealed (a downgrade must not write secrets in clear); they no longer fit 64
    # characters, so the columns keep their size
    pass
