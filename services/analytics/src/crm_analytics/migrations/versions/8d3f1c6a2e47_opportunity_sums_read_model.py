"""opportunity sums read model (pre-aggregated opportunities for the pipeline, forecast and win rate), filled from
the opportunities already projected; covering indexes for the sales cycle (deals won, time in stage)

Revision ID: 8d3f1c6a2e47
Revises: 5c2e7a9d4b10
Create Date: 2026-12-04 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '8d3f1c6a2e47'
down_revision = '5c2e7a9d4b10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crm_analytics.projections import sums  # what a live batch adds, here for every row at once
    bind = op.get_bind()
    for gen in ("a", "b"):
        name = f"an_opportunity_sums_{gen}"
        table = op.create_table(
            name,
            sa.Column("key", sa.String(length=400), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=True),
            sa.Column("stage", sa.String(length=60), nullable=True),
            sa.Column("currency", sa.String(length=3), nullable=True),
            sa.Column("owner_id", sa.String(length=64), nullable=True),
            sa.Column("team_id", sa.String(length=64), nullable=True),
            sa.Column("territory_id", sa.String(length=64), nullable=True),
            sa.Column("source", sa.String(length=60), nullable=True),
            sa.Column("campaign_id", sa.String(length=64), nullable=True),
            sa.Column("expected_close_date", sa.Date(), nullable=True),
            sa.Column("closed_on", sa.Date(), nullable=True),
            sa.Column("deals", sa.Integer(), nullable=False),
            sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
            sa.Column("weighted", sa.Numeric(precision=24, scale=4), nullable=True),
            sa.Column("commit", sa.Numeric(precision=18, scale=2), nullable=True),
            sa.PrimaryKeyConstraint("key"),
        )
        op.create_index(f"ix_{name}_status_closed_on", name, ["status", "closed_on"], unique=False)
        op.create_index(f"ix_an_opportunities_{gen}_status_closed_at_covering", f"an_opportunities_{gen}",
                        ["status", "closed_at"], postgresql_include=["created_at", "owner_id", "team_id", "territory_id"])
        op.create_index(f"ix_an_stage_history_{gen}_stage_left_at_covering", f"an_stage_history_{gen}",
                        ["stage", "left_at"], postgresql_include=["entered_at", "owner_id", "team_id", "territory_id"],
                        postgresql_where=sa.text("left_at IS NOT NULL"))
        source = sa.Table(f"an_opportunities_{gen}", sa.MetaData(), autoload_with=bind)
        rows = sums.deltas((None, dict(row)) for row in bind.execute(sa.select(source)).mappings())
        for i in range(0, len(rows), 5000):
            bind.execute(table.insert(), rows[i:i + 5000])


def downgrade() -> None:
    for gen in ("b", "a"):
        op.drop_index(f"ix_an_stage_history_{gen}_stage_left_at_covering", table_name=f"an_stage_history_{gen}")
        op.drop_index(f"ix_an_opportunities_{gen}_status_closed_at_covering", table_name=f"an_opportunities_{gen}")
        op.drop_index(f"ix_an_opportunity_sums_{gen}_status_closed_on", table_name=f"an_opportunity_sums_{gen}")
        op.drop_table(f"an_opportunity_sums_{gen}")
