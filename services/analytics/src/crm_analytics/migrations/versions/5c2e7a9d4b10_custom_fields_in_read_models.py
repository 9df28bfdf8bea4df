"""custom fields in the read models: a JSON column of values on opportunities, leads, accounts and tickets, and
the definitions the producers announce (an_custom_fields)

Revision ID: 5c2e7a9d4b10
Revises: 956dbcb9433f
Create Date: 2026-12-04 19:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '5c2e7a9d4b10'
down_revision = '956dbcb9433f'
branch_labels = None
depends_on = None

MODELS = ("opportunities", "leads", "accounts", "tickets")


def upgrade() -> None:
    for gen in ("a", "b"):
        for model in MODELS:
            op.add_column(f"an_{model}_{gen}", sa.Column("custom_fields", sa.JSON(), nullable=True))
        op.create_table(
            f"an_custom_fields_{gen}",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("resource", sa.String(length=40), nullable=True),
            sa.Column("name", sa.String(length=40), nullable=True),
            sa.Column("label", sa.String(length=200), nullable=True),
            sa.Column("type", sa.String(length=20), nullable=True),
            sa.Column("choices", sa.JSON(), nullable=True),
            sa.Column("deleted", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(f"ix_an_custom_fields_{gen}_resource_name", f"an_custom_fields_{gen}", ["resource", "name"],
                        unique=False)


def downgrade() -> None:
    for gen in ("b", "a"):
        op.drop_index(f"ix_an_custom_fields_{gen}_resource_name", table_name=f"an_custom_fields_{gen}")
        op.drop_table(f"an_custom_fields_{gen}")
        for model in MODELS:
            with op.batch_alter_table(f"an_{model}_{gen}", schema=None) as batch_op:
                batch_op.drop_column("custom_fields")
