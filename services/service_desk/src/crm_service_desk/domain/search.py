"""Search of the service desk's records (GET /api/v1/search): tickets by number or subject, knowledge base
articles by title, of those the caller may read, best match first (crm_common.search)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_

from crm_common import search as kernel
from crm_service_desk.domain import kb_articles
from crm_service_desk.domain.visibility import ticket_clause
from crm_service_desk.models import KbArticle, Ticket

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

TYPES = ("ticket", "article")


def _joined(*parts) -> str | None:
    return " · ".join(str(part) for part in parts if part) or None


def _ticket(row: Ticket):
    return "ticket", f"{row.number} {row.subject}", _joined(row.status, row.priority, row.requester_email)


def _article(row: KbArticle):
    return "article", row.title, _joined(row.status, row.category)


def search(ctx: Context, query: dict) -> dict:
    """The tickets and articles (all by default) the caller may read whose number, subject or title holds `q`:
    exact matches first, then prefixes, then the rest."""
    types = kernel.parse_types(query.get("types"), TYPES)
    text, limit = query["q"], query.get("limit") or 20
    session, actor = ctx.session, ctx.caller
    groups = []
    if "ticket" in types and actor.can("ticket", "read"):
        where = and_(Ticket.deleted_at.is_(None), ticket_clause(session, actor, "read"))
        groups.append(kernel.hits(session, Ticket, (Ticket.number, Ticket.subject), text, where, limit, _ticket))
    visible = kb_articles.visible(actor) if "article" in types else None
    if visible is not None:
        where = and_(KbArticle.deleted_at.is_(None), visible)
        groups.append(kernel.hits(session, KbArticle, (KbArticle.title,), text, where, limit, _article))
    return {"items": kernel.merged(groups, limit)}
