"""Lead scoring: the rules marketers write and each lead's computed score with its explanation."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, synonym

from crm_common.db import IdMixin, TimestampMixin, utcnow
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import LIVE, Base


class ScoringRule(IdMixin, TimestampMixin, VersionMixin, Base):
    """Points for an attribute (`kind` attribute: a condition over the lead) or for each occurrence of a
    behaviour (`kind` behaviour: opened, clicked, submitted...; at most `max_occurrences` count, each losing
    its value linearly over `decay_days`). A deleted rule is kept, hidden (soft delete)."""

    __tablename__ = "scoring_rules"
    __table_args__ = (Index("ix_scoring_rules_live", "active", sqlite_where=LIVE, postgresql_where=LIVE),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # attribute | behaviour
    condition: Mapped[dict] = mapped_column(JSON)
    points: Mapped[int] = mapped_column(Integer)  # -100..100
    decay_days: Mapped[int | None] = mapped_column(Integer)  # behaviour only: the points are gone after it
    max_occurrences: Mapped[int | None] = mapped_column(Integer)  # behaviour only: the cap per rule
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()

    owner_id = synonym("created_by")  # record scope: "own" is the rules one wrote


class LeadScore(IdMixin, Base):
    """A lead's score as marketing last computed it, with every point explained (`points`: one entry per
    rule that gave points, then a clamp entry when the sum left 0..100). `sent_score` is the score last sent
    to sales (`marketing.score_changed.v1`); None while no rule ever gave the lead points (sales keeps the
    score it has)."""

    __tablename__ = "lead_scores"
    __table_args__ = (
        Index("ux_lead_scores_member", "member_id", unique=True),
        Index("ix_lead_scores_lead", "lead_id"),
        Index("ix_lead_scores_computed_at", "computed_at"),
    )

    member_id: Mapped[str] = mapped_column(String(36))  # the audience member (kind lead)
    lead_id: Mapped[str] = mapped_column(String(36))  # the lead's id in sales
    score: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[list] = mapped_column(JSON, default=list)
    sent_score: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
