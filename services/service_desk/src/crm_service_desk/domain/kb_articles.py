"""The knowledge base: draft and published articles in categories, ranked search, suggestions for a
ticket, helpful votes, and a solved ticket turned into a draft article."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from crm_common.errors import ServiceError, not_found, validation
from crm_common.paging import decode_cursor, encode_cursor
from crm_common.richtext import clean_fields
import crm_service_desk_contracts as c
from crm_service_desk.domain import kb_search
from crm_service_desk.domain.records import apply_changes, is_customer, now, page, soft_delete
from crm_service_desk.domain.visibility import visible_ticket
from crm_service_desk.models import Comment, KbArticle, KbVote

if TYPE_CHECKING:
    from crm_common.context import Context


def _visible(actor):
    """Customers and callers without full read see published articles (and their own drafts)."""
    level = actor.scope("kb_article", "read")
    if level == "none":
        return None
    if is_customer(actor) or level != "all":
        mine = KbArticle.author_id == actor.user_id if (actor.user_id and not is_customer(actor)) else None
        published = KbArticle.status == "published"
        return or_(published, mine) if mine is not None else published
    return true()


visible = _visible  # the search of records (crm_service_desk.domain.search) applies it too


def _visible_sql(actor) -> tuple[str, dict]:
    if is_customer(actor) or actor.scope("kb_article", "read") != "all":
        if actor.user_id and not is_customer(actor):
            return "(a.status = 'published' OR a.author_id = :me)", {"me": actor.user_id}
        return "a.status = 'published'", {}
    return "1 = 1", {}


def _event(article: KbArticle, changed=None) -> dict:
    data = {"id": article.id, "title": article.title, "category": article.category, "status": article.status,
            "source_ticket_id": article.source_ticket_id}
    if changed is not None:
        data["changed_fields"] = sorted(changed)
    return data


def get(ctx: Context, article_id: str) -> KbArticle:
    session = ctx.session
    clause = _visible(ctx.caller)
    article = session.execute(select(KbArticle).where(KbArticle.id == article_id, KbArticle.deleted_at.is_(None),
                                                      clause)).scalar_one_or_none()
    if article is None:
        raise not_found("article")
    return article


def create(ctx: Context, data: dict) -> KbArticle:
    return _write(ctx, data, None)


def _write(ctx: Context, data: dict, source_ticket_id: str | None) -> KbArticle:
    session = ctx.session
    data = clean_fields(data, "body")
    at = now()
    article = KbArticle(author_id=ctx.caller.user_id, source_ticket_id=source_ticket_id, created_at=at,
                        updated_at=at, helpful_count=0, not_helpful_count=0, **data)
    if article.status == "published":
        article.published_at = at
    session.add(article)
    session.flush()
    kb_search.index(session, article)
    ctx.emit(c.KB_ARTICLE_CREATED, _event(article))
    if article.status == "published":
        ctx.emit(c.KB_ARTICLE_PUBLISHED, _event(article))
    return article


def update(ctx: Context, article_id: str, data: dict, expected_version: int | None = None) -> KbArticle:
    session = ctx.session
    article = get(ctx, article_id)
    level = ctx.caller.scope("kb_article", "update")
    if level != "all" and article.author_id != ctx.caller.user_id:
        raise ServiceError("forbidden", "your role may change only your own articles")
    was = article.status
    changed = apply_changes(article, clean_fields(data, "body"), expected_version)
    if not changed:
        return article
    article.updated_at = now()
    if was != "published" and article.status == "published":
        article.published_at = article.updated_at
    session.flush()
    kb_search.index(session, article)
    ctx.emit(c.KB_ARTICLE_UPDATED, _event(article, changed))
    if was != "published" and article.status == "published":
        ctx.emit(c.KB_ARTICLE_PUBLISHED, _event(article, changed))
    return article


def remove(ctx: Context, article_id: str, expected_version: int | None = None) -> None:
    session = ctx.session
    article = get(ctx, article_id)
    soft_delete(article, expected_version)
    kb_search.index(session, article)
    ctx.emit(c.KB_ARTICLE_DELETED, _event(article))


def list_articles(ctx: Context, args: dict) -> dict:
    session = ctx.session
    actor = ctx.caller
    if args.get("q"):
        return _search_page(session, actor, args)
    query = select(KbArticle).where(KbArticle.deleted_at.is_(None), _visible(actor))
    for name in ("status", "category"):
        if args.get(name) is not None:
            query = query.where(getattr(KbArticle, name) == args[name])
    return page(session, query, KbArticle, args, c.KbArticleQuery.SORTABLE)


def _search_page(session: Session, actor, args: dict) -> dict:
    """Ranked results, best first; the cursor carries the offset of the next page."""
    offset = 0
    if args.get("cursor"):
        offset, marker = decode_cursor(args["cursor"])
        if marker != "search" or not isinstance(offset, int) or offset < 0:
            raise validation({"cursor": ["not a cursor of this search"]})
    where, params = _visible_sql(actor)
    where = f"a.deleted_at IS NULL AND {where}"
    for name in ("status", "category"):
        if args.get(name) is not None:
            where += f" AND a.{name} = :{name}"
            params[name] = args[name]
    limit = args.get("limit") or 50
    hits = kb_search.search(session, args["q"], where, params, limit + 1, offset)
    more = len(hits) > limit
    hits = hits[:limit]
    return {"items": _with_rank(session, hits),
            "next_cursor": encode_cursor(offset + limit, "search") if more else None}


def _with_rank(session: Session, hits: list[tuple[str, float]]) -> list[KbArticle]:
    if not hits:
        return []
    found = {a.id: a for a in session.execute(select(KbArticle).where(KbArticle.id.in_([h[0] for h in hits])))
             .scalars()}
    result = []
    for article_id, rank in hits:
        article = found[article_id]
        article.rank = round(rank, 6)
        result.append(article)
    return result


SUGGESTIONS = 5


def suggestions(ctx: Context, ticket_id: str) -> dict:
    """Published articles matching the ticket's subject and description, best first."""
    session = ctx.session
    ticket = visible_ticket(session, ctx.caller, ticket_id)
    hits = kb_search.search(session, f"{ticket.subject} {ticket.description or ''}",
                            "a.deleted_at IS NULL AND a.status = 'published'", {}, SUGGESTIONS, any_term=True)
    return {"items": _with_rank(session, hits)}


def vote(ctx: Context, article_id: str, data: dict) -> KbArticle:
    """Helpful (`data["helpful"]`) or not: one vote per user, the counts recomputed."""
    session, actor, helpful = ctx.session, ctx.caller, data["helpful"]
    article = get(ctx, article_id)
    voter = actor.user_id or actor.email
    if not voter:
        raise ServiceError("forbidden", "votes are counted per user")
    existing = session.get(KbVote, (article.id, voter))
    if existing is None:
        session.add(KbVote(article_id=article.id, voter=voter, helpful=helpful))
    else:
        existing.helpful = helpful
    session.flush()
    counts = dict(session.execute(select(KbVote.helpful, func.count()).where(KbVote.article_id == article.id)
                                  .group_by(KbVote.helpful)).all())
    article.helpful_count = counts.get(True, 0)
    article.not_helpful_count = counts.get(False, 0)
    return article


def from_ticket(ctx: Context, ticket_id: str) -> KbArticle:
    """A draft article from a solved ticket: its subject, description and the public agent replies."""
    session = ctx.session
    ticket = visible_ticket(session, ctx.caller, ticket_id)
    if ticket.status not in ("solved", "closed"):
        raise ServiceError("conflict", "only a solved or closed ticket can become an article")
    replies = session.execute(select(Comment.body).where(Comment.ticket_id == ticket.id, Comment.public.is_(True),
                                                         Comment.author_kind == "user")
                              .order_by(Comment.created_at)).scalars().all()
    body = "\n\n".join(p for p in [ticket.description or "", *replies] if p.strip()) or ticket.subject
    return _write(ctx, {"title": ticket.subject, "body": body, "category": None, "status": "draft"}, ticket.id)
