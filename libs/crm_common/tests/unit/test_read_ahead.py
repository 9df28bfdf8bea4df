"""crm_common.ahead: rows read ahead are handed to the same query with the same values, in the same transaction,
once; anything else gets None, and the domain function runs its query itself."""
from __future__ import annotations

from sqlalchemy import bindparam, column, create_engine, select, table
from sqlalchemy.orm import Session

from crm_common import ahead

THINGS = table("things", column("id"), column("name"))
QUERY = ahead.ordered(select(THINGS.c.id, THINGS.c.name).where(THINGS.c.name == bindparam("name")), THINGS.c.id,
                      limit=2)
OTHER = select(THINGS.c.id).where(THINGS.c.name == bindparam("name"))


def reader(data: dict) -> ahead.Read | None:
    return ahead.Read(QUERY, {"name": data["name"]}) if data.get("name") else None


@ahead.reads(reader)
def create(ctx, data):
    return data


def test_a_declared_read_is_taken_once_by_its_own_query_and_values_in_its_transaction():
    with Session(create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")) as postgresql:  # never connects
        assert ahead.of(create, ({"name": "Ada"},), postgresql) == ahead.Read(QUERY, {"name": "Ada"})
        assert ahead.of(create, ({},), postgresql) is None
        assert ahead.of(lambda ctx, data: data, ({"name": "Ada"},), postgresql) is None
    with Session(create_engine("sqlite://")) as session:
        assert ahead.of(create, ({"name": "Ada"},), session) is None  # only PostgreSQL's look-up carries a read
        session.begin()
        rows = [{"id": "b", "name": "Ada", "crm_ahead_n": 1}, {"id": "c", "name": "Ada", "crm_ahead_n": 2}]
        for query, params in ((OTHER, {"name": "Ada"}), (QUERY, {"name": "Bob"})):
            ahead.remember(session, ahead.Read(QUERY, {"name": "Ada"}), rows)
            assert ahead.taken(session, query, params) is None
        ahead.remember(session, ahead.Read(QUERY, {"name": "Ada"}), rows)
        taken = ahead.taken(session, QUERY, {"name": "Ada"})
        assert [(r.id, r.name) for r in taken] == [("b", "Ada"), ("c", "Ada")]
        assert not hasattr(taken[0], "crm_ahead_n")
        assert ahead.taken(session, QUERY, {"name": "Ada"}) is None  # once
        ahead.remember(session, ahead.Read(QUERY, {"name": "Ada"}), None)
        assert ahead.taken(session, QUERY, {"name": "Ada"}) == []  # read ahead, and none found
        ahead.remember(session, ahead.Read(QUERY, {"name": "Ada"}), rows)
        session.rollback()
        session.begin()
        assert ahead.taken(session, QUERY, {"name": "Ada"}) is None  # another transaction's


def test_a_read_ahead_goes_as_one_json_array_in_its_declared_order():
    """The rows go numbered in the order the query declares (`ahead.ordered`) and are aggregated in that order, at
    most its limit; a query whose order was not declared that way is refused, not sent unordered."""
    import pytest
    from sqlalchemy.dialects import postgresql
    assert [str(c) for c in QUERY.selected_columns] == ["things.id", "things.name"]
    sql = str(select(ahead.column(QUERY)).compile(dialect=postgresql.dialect()))
    assert "row_number() OVER (ORDER BY things.id) AS crm_ahead_n" in sql
    assert "ORDER BY things.id" in sql.split("row_number")[1] and "LIMIT" in sql
    assert "json_agg(crm_ahead ORDER BY crm_ahead.crm_ahead_n)" in sql
    with pytest.raises(TypeError):
        ahead.column(OTHER)


def test_what_a_reader_gives_along_reaches_its_function_only_with_its_read_in_its_transaction():
    """`given`: the reader's work on the input (a normalized email, say) for the function, when its read went ahead
    in this transaction; otherwise None, and the function works it out itself."""
    read = ahead.Read(QUERY, {"name": "ada"}, given={"name": "ada"})
    with Session(create_engine("sqlite://")) as session:
        session.begin()
        assert ahead.given(session) is None
        ahead.remember(session, read, [])
        assert ahead.given(session) == {"name": "ada"}
        assert ahead.taken(session, QUERY, {"name": "ada"}) == []
        ahead.remember(session, read, [])
        session.rollback()
        session.begin()
        assert ahead.given(session) is None  # another transaction's
