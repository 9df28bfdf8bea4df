"""stage times read model (the stays in each stage pre-counted per whole hour), filled from the stage rows already
left; PostgreSQL: an index on each stage row's stay in seconds (the company-wide time in stage's quantiles)

Revision ID: c3a9e5f1d2b8
Revises: b7e4d2a91c35
Create Date: 2026-12-05 03:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'c3a9e5f1d2b8'
down_revision = 'b7e4d2a91c35'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crm_analytics.models import GENERATIONS
    from crm_analytics.projections import stage_times  # what a live batch adds, here for every row left
    bind = op.get_bind()
    for gen in ("a", "b"):
        name, history = f"an_stage_times_{gen}", f"an_stage_history_{gen}"
        table = op.create_table(
            name,
            sa.Column("stage", sa.String(length=60), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column("stays", sa.Integer(), nullable=False),
            sa.Column("total", sa.Numeric(precision=24, scale=6), nullable=True),
            sa.Column("shortest", sa.Numeric(precision=24, scale=6), nullable=True),
            sa.Column("longest", sa.Numeric(precision=24, scale=6), nullable=True),
            sa.PrimaryKeyConstraint("stage", "hour"),
        )
        if bind.dialect.name == "postgresql":
            op.execute(f'CREATE INDEX "ix_{history}_stage_seconds" ON "{history}" '
                       "(stage, date_part('epoch', left_at - entered_at)) INCLUDE (left_at, entered_at) "
                       "WHERE left_at IS NOT NULL")
        source = GENERATIONS[gen].stage_history  # its times read as the projection reads them (UTC, aware)
        found = bind.execute(sa.select(source.c.stage, source.c.entered_at, source.c.left_at)
                             .where(source.c.left_at.is_not(None), source.c.entered_at.is_not(None)))
        rows = stage_times.deltas(stage_times.stay(*row) for row in found)
        for i in range(0, len(rows), 5000):
            bind.execute(table.insert(), rows[i:i + 5000])


def downgrade() -> None:
    for gen in ("b", "a"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f'DROP INDEX IF EXISTS "ix_an_stage_history_{gen}_stage_seconds"')
        op.drop_table(f"an_stage_times_{gen}")
