"""fewer read model indexes: opportunities without (status, stage) and (closed_at) (the covering index on status and
closed_at serves every route's query over them); the stage history without (stage) (the covering index on stage and
left_at serves the time in stage) and with its opportunity_id index on the open rows only (what the projection reads)

Revision ID: b7e4d2a91c35
Revises: 4ef3af92e33d
Create Date: 2026-12-05 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e4d2a91c35'
down_revision = '4ef3af92e33d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for gen in ("a", "b"):
        opp, history = f"an_opportunities_{gen}", f"an_stage_history_{gen}"
        op.drop_index(f"ix_{opp}_status_stage", table_name=opp)
        op.drop_index(f"ix_{opp}_closed_at", table_name=opp)
        op.drop_index(f"ix_{history}_stage", table_name=history)
        op.drop_index(f"ix_{history}_opportunity_id", table_name=history)
        op.create_index(f"ix_{history}_opportunity_id_open", history, ["opportunity_id"],
                        postgresql_where=sa.text("left_at IS NULL"), sqlite_where=sa.text("left_at IS NULL"))


def downgrade() -> None:
    for gen in ("b", "a"):
        opp, history = f"an_opportunities_{gen}", f"an_stage_history_{gen}"
        op.drop_index(f"ix_{history}_opportunity_id_open", table_name=history)
        op.create_index(f"ix_{history}_opportunity_id", history, ["opportunity_id"])
        op.create_index(f"ix_{history}_stage", history, ["stage"])
        op.create_index(f"ix_{opp}_closed_at", opp, ["closed_at"])
        op.create_index(f"ix_{opp}_status_stage", opp, ["status", "stage"])
