"""Search across records (GET /api/v1/search): the match, the rank and the contract shared by the services.

A service searches its own records over the caller's scope with `hits(...)`: a row matches when one of the
searched columns contains the text (case-insensitive); its score is 3 when a column equals the text, 2 when
one starts with it, 1 when one only contains it (`rank()`). Best first, then by title, at most `limit`.

One statement per type, in tiers: every exact match; then the first CANDIDATES prefix matches of each column in
its order (on PostgreSQL a range of a btree index of lower(column) in the "C" collation, read in order and
stopped there); then, only when those found fewer than `limit`, CANDIDATES rows that contain the text (the
trigram indexes). A text that few rows match is ranked over all of them; a broad one ("lead4" over a million
records: 100,000 rows) over every exact match and the first prefix matches, never over all its rows
(bench/bench_search.py). The statement is built once per scope shape (scope.alternatives) and reused.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from sqlalchemy import Integer, and_, bindparam, case, func, literal, or_, select, true, union, union_all

from crm_common.contracts.schemas import Strict

MIN_LENGTH = 2
MAX_LIMIT = 50
CANDIDATES = 500  # prefix matches of each column, then rows containing the text, ranked past the exact ones
EXACT, PREFIX, CONTAINS = 3, 2, 1


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalized(text: str) -> str:
    return " ".join((text or "").split()).lower()


def rank(values, text: str) -> int:
    """The score of a record whose searched values are `values` (0: no match); what the tiers of `hits()` find in SQL."""
    wanted = normalized(text)
    best = 0
    for value in values:
        value = (value or "").lower()
        if not wanted or wanted not in value:
            continue
        best = max(best, EXACT if value == wanted else PREFIX if value.startswith(wanted) else CONTAINS)
    return best


def _one_pass(model, columns, where):
    """Without indexes on the lowered values (SQLite): every matching row ranked in one pass over the table."""
    lowered = [func.lower(column) for column in columns]
    wanted = bindparam("search_wanted")
    score = case((or_(*[value == wanted for value in lowered]), literal(EXACT)),
                 (or_(*[value.like(bindparam("search_prefix"), escape="\\") for value in lowered]), literal(PREFIX)),
                 else_=literal(CONTAINS)).label("search_score")
    contains = or_(*[value.like(bindparam("search_pattern"), escape="\\") for value in lowered])
    return (select(model, score).where(where, contains).order_by(score.desc(), columns[0], model.id)
            .limit(bindparam("search_limit", type_=Integer)))


def _statement(model, columns, where, dialect: str):
    """The search of `model` as one statement on bind parameters (search_wanted, search_prefix, search_pattern,
    search_limit, search_candidates): every exact match (at most search_limit), then the first search_candidates
    prefix matches of each column in its order (an ordered range of its btree index, not the whole range), then,
    only when those two found fewer than search_limit, at most search_candidates rows containing the text (the
    trigram indexes); ranked and cut to search_limit before the rows are read."""
    if dialect != "postgresql":
        return _one_pass(model, columns, where)
    lowered = [func.lower(column).collate("C") for column in columns]
    exact = or_(*[value == bindparam("search_wanted") for value in lowered])
    limit, candidates = bindparam("search_limit", type_=Integer), bindparam("search_candidates", type_=Integer)
    key = columns[0].label("search_key")

    def tier(score, condition):
        return select(model.id.label("id"), literal(score).label("search_score"), key).where(where, condition)

    exact_rows = tier(EXACT, exact).limit(limit).cte("search_exact")
    starts = [value.like(bindparam("search_prefix"), escape="\\") for value in lowered]
    prefix_rows = union(*[select(ranked.c.id, ranked.c.search_score, ranked.c.search_key).select_from(ranked)
                          for ranked in (tier(PREFIX, and_(start, exact.is_not(true()))).order_by(value)
                                         .limit(candidates).subquery() for start, value in zip(starts, lowered))]
                        ).cte("search_prefix")
    found = (select(func.count()).select_from(exact_rows).scalar_subquery()
             + select(func.count()).select_from(prefix_rows).scalar_subquery())
    contains = or_(*[func.lower(column).like(bindparam("search_pattern"), escape="\\") for column in columns])
    contains_rows = (tier(CONTAINS, and_(contains, or_(*starts).is_not(true()), found < limit)).limit(candidates)
                     .cte("search_contains"))
    tiers = union_all(*[select(rows.c.id, rows.c.search_score, rows.c.search_key)
                        for rows in (exact_rows, prefix_rows, contains_rows)]).subquery("search_tiers")
    best = (select(tiers.c.id, tiers.c.search_score)
            .order_by(tiers.c.search_score.desc(), tiers.c.search_key, tiers.c.id).limit(limit).subquery("search_best"))
    return (select(model, best.c.search_score).join(best, best.c.id == model.id)
            .order_by(best.c.search_score.desc(), columns[0], model.id))


_STATEMENTS: dict = {}


def hits(session, model, columns, text: str, where, limit: int, describe, *, shape=None, params=None) -> list[dict]:
    """The best `limit` rows of `model` matching `text` among those `where` allows, as search hits:
    `describe(row)` gives (type, title, subtitle). Every exact match is found; past the exact matches at most
    CANDIDATES prefix matches, then (when those are fewer than `limit`) CANDIDATES contains matches are ranked.

    `where` is a clause, or, with `shape`, a function giving the clause on bind parameters whose values are
    `params` (scope.alternatives): the statement is then built once per shape and reused."""
    dialect = session.get_bind().dialect.name
    if shape is None:
        statement, values = _statement(model, columns, where, dialect), {}
    else:
        cache_key = (dialect, model, tuple(column.key for column in columns), shape)
        statement = _STATEMENTS.get(cache_key)
        if statement is None:
            statement = _STATEMENTS.setdefault(cache_key, _statement(model, columns, where(), dialect))
        values = dict(params or {})
    wanted = normalized(text)
    values.update(search_wanted=wanted, search_prefix=f"{_escaped(wanted)}%", search_pattern=f"%{_escaped(wanted)}%",
                  search_limit=limit, search_candidates=CANDIDATES)
    found = []
    for row, value in session.execute(statement, values).all():
        kind, title, subtitle = describe(row)
        found.append({"type": kind, "id": row.id, "title": title, "subtitle": subtitle, "score": int(value)})
    return found


def merged(groups, limit: int) -> list[dict]:
    """Hits of several searches as one list: best score first, then title, at most `limit`."""
    items = [hit for group in groups for hit in group]
    items.sort(key=lambda hit: (-hit["score"], (hit["title"] or "").lower(), hit["type"], hit["id"]))
    return items[:limit]


def query_schema(name: str, known: tuple[str, ...]) -> type[Schema]:
    """The input of a search over the types `known`: q (2 characters at least), types (comma-separated;
    none: all), limit."""

    class SearchQuery(Strict):
        RULES = (f"q holds at least {MIN_LENGTH} characters besides spaces",
                 "types names only types of this search, comma-separated")

        q = fields.String(required=True, validate=validate.Length(min=MIN_LENGTH, max=200),
                          metadata={"description": f"at least {MIN_LENGTH} characters"})
        types = fields.String(load_default=None, metadata={"description": "comma-separated, of " + ",".join(known)})
        limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))

        @validates("q")
        def _q(self, value, **_):
            if len(normalized(value)) < MIN_LENGTH:
                raise ValidationError(f"at least {MIN_LENGTH} characters")

        @validates("types")
        def _types(self, value, **_):
            unknown = [t for t in parse_types(value, ()) if t not in known]
            if unknown:
                raise ValidationError(f"unknown type(s): {', '.join(unknown)}; one of {', '.join(known)}")

    SearchQuery.__name__ = name
    SearchQuery.TYPES = known
    return SearchQuery


def parse_types(value, default):
    """`types` as a tuple (a comma-separated string or a list; empty: `default`)."""
    if value is None or value == "" or value == []:
        return default
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationError("a comma-separated list of types")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


class SearchHit(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    title = fields.String(allow_none=True)
    subtitle = fields.String(allow_none=True)
    score = fields.Integer(required=True)


class SearchResult(Schema):
    items = fields.List(fields.Nested(SearchHit), required=True)
