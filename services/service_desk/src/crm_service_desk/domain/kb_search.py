"""Ranked full-text search of knowledge base articles: SQLite FTS5 (a virtual table kept in step with
the articles) or PostgreSQL full text (weighted tsvector with a GIN index)."""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

SQLITE_DDL = ("CREATE VIRTUAL TABLE IF NOT EXISTS sd_kb_fts USING fts5("
              "article_id UNINDEXED, title, body, tokenize='porter unicode61')")
PG_VECTOR = ("setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
             "setweight(to_tsvector('english', coalesce(body, '')), 'B')")
PG_DDL = f"CREATE INDEX IF NOT EXISTS ix_sd_kb_articles_fts ON sd_kb_articles USING gin (({PG_VECTOR}))"
MAX_TERMS = 20


def install(bind) -> None:
    """Create the search structures on a connection (the migration; unit tests on SQLite)."""
    if bind.dialect.name == "sqlite":
        bind.execute(text(SQLITE_DDL))
    elif bind.dialect.name == "postgresql":
        bind.execute(text(PG_DDL))


def uninstall(bind) -> None:
    if bind.dialect.name == "sqlite":
        bind.execute(text("DROP TABLE IF EXISTS sd_kb_fts"))
    elif bind.dialect.name == "postgresql":
        bind.execute(text("DROP INDEX IF EXISTS ix_sd_kb_articles_fts"))


def terms(query: str) -> list[str]:
    return re.findall(r"\w+", (query or "").lower())[:MAX_TERMS]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def index(session: Session, article) -> None:
    """Keep the SQLite index in step with an article (PostgreSQL indexes the row itself)."""
    if not _sqlite(session):
        return
    session.execute(text("DELETE FROM sd_kb_fts WHERE article_id = :id"), {"id": article.id})
    if article.deleted_at is None:
        session.execute(text("INSERT INTO sd_kb_fts (article_id, title, body) VALUES (:id, :title, :body)"),
                        {"id": article.id, "title": article.title, "body": article.body})


def search(session: Session, query: str, where_sql: str, params: dict, limit: int, offset: int = 0,
           any_term: bool = False) -> list[tuple[str, float]]:
    """(article id, rank) best first; every term must match, or any of them with `any_term`.

    `where_sql` filters the articles (alias `a`) with bound `params`; rank is higher for better matches.
    """
    words = terms(query)
    if not words:
        return []
    params = {**params, "limit": limit, "offset": offset}
    if _sqlite(session):
        params["match"] = (" OR " if any_term else " ").join(f'"{w}"' for w in words)
        sql = ("SELECT a.id, -bm25(sd_kb_fts, 0.0, 5.0, 1.0) AS rank FROM sd_kb_fts "
               "JOIN sd_kb_articles a ON a.id = sd_kb_fts.article_id "
               f"WHERE sd_kb_fts MATCH :match AND {where_sql} ORDER BY rank DESC, a.id LIMIT :limit OFFSET :offset")
    else:
        params["tsq"] = (" | " if any_term else " & ").join(words)
        sql = (f"SELECT a.id, ts_rank({PG_VECTOR.replace('title', 'a.title').replace('body', 'a.body')}, q) AS rank "
               "FROM sd_kb_articles a, to_tsquery('english', :tsq) q "
               f"WHERE ({PG_VECTOR.replace('title', 'a.title').replace('body', 'a.body')}) @@ q AND {where_sql} "
               "ORDER BY rank DESC, a.id LIMIT :limit OFFSET :offset")
    return [(row[0], float(row[1])) for row in session.execute(text(sql), params).all()]
