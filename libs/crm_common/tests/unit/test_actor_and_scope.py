from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common import scope
from crm_common.context import SYSTEM, Actor, actor_from_context, context_data
from crm_common.db import IdMixin, make_base, make_engine
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES, merge_roles, validate_grant

Base = make_base("scopetest")


class Deal(IdMixin, Base):
    __tablename__ = "deals"
    owner_id: Mapped[str] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    territory_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Deal(id="mine", owner_id="me", team_id="red", territory_id="north"),
                   Deal(id="teammate", owner_id="bob", team_id="red", territory_id="south"),
                   Deal(id="north", owner_id="eve", team_id="blue", territory_id="north"),
                   Deal(id="other", owner_id="zed", team_id="blue", territory_id="south")])
        s.commit()
        yield s


def ids(session, actor):
    return sorted(session.execute(scope.visible(select(Deal.id), actor, "opportunity", "read", Deal)).scalars())


def actor(level):
    return Actor(user_id="me", team_id="red", territory_ids=("north",), perms={"opportunity": {"read": level}})


def test_each_scope_sees_exactly_its_records(session):
    assert ids(session, actor("own")) == ["mine"]
    assert ids(session, actor("team")) == ["mine", "teammate"]
    assert ids(session, actor("territory")) == ["mine", "north"]
    assert ids(session, actor("all")) == ["mine", "north", "other", "teammate"]
    assert ids(session, actor("none")) == []
    assert ids(session, SYSTEM) == ["mine", "north", "other", "teammate"]


def test_out_of_scope_is_not_found_and_no_write_scope_is_forbidden(session):
    rep = Actor(user_id="me", team_id="red", perms={"opportunity": {"read": "team", "update": "own"}})
    teammate = session.get(Deal, "teammate")
    assert scope.require(rep, "opportunity", "read", teammate) is teammate
    with pytest.raises(ServiceError) as denied:
        scope.require(rep, "opportunity", "update", teammate)
    assert denied.value.code == "forbidden"
    with pytest.raises(ServiceError) as hidden:
        scope.require(rep, "opportunity", "read", session.get(Deal, "other"))
    assert hidden.value.code == "not_found"


def test_actor_travels_in_context_data_intact():
    original = Actor(user_id="u", roles=("admin",), territory_ids=("a", "b"), perms={"*": {"*": "all"}})
    data = context_data(original, "rid-123456")
    assert data["request_id"] == "rid-123456"
    assert actor_from_context(data) == original


def test_roles_merge_to_the_widest_scope_and_grants_are_validated():
    merged = merge_roles([BUILTIN_ROLES["sales_rep"], BUILTIN_ROLES["sales_manager"]])
    assert merged["lead"]["read"] == "team" and merged["lead"]["delete"] == "team"
    assert Actor(perms=BUILTIN_ROLES["admin"]).scope("ticket", "delete") == "all"
    assert Actor(perms=BUILTIN_ROLES["customer"]).scope("lead", "read") == "none"
    assert validate_grant({"lead": {"read": "own"}}) == {}
    assert validate_grant({"spaceship": {"fly": "galaxy"}})["permissions"]


def test_an_actor_crosses_the_wire_whole_with_every_field():
    actor = Actor(user_id="u1", kind="customer", email="c@x.test", roles=("customer", "analyst"), team_id="t1",
                  territory_ids=("tr1", "tr2"), perms={"ticket": {"read": "own"}, "*": {"export": "team"}},
                  account_id="a1", contact_id="c1", client_ip="10.0.0.9")
    assert actor.to_dict() == dataclasses.asdict(actor) | {"roles": ["customer", "analyst"],
                                                           "territory_ids": ["tr1", "tr2"]}
    assert set(actor.to_dict()) == {f.name for f in dataclasses.fields(Actor)}
    assert Actor.decode(actor.encode()) == actor
    copy = actor.to_dict()
    copy["perms"]["ticket"]["read"] = "all"  # the encoding is a copy: the actor is not changed through it
    assert actor.scope("ticket", "read") == "own"


def test_an_actor_encodes_once_and_decodes_to_an_equal_actor():
    from crm_common.context import Actor
    actor = Actor(user_id="u-1", roles=("sales_rep",), perms={"lead": {"read": "own"}}, team_id="t-1")
    encoded = actor.encode()
    assert actor.encode() is encoded  # kept
    assert Actor.decode(encoded) == actor and Actor.decode(encoded.encode()) == actor
    assert Actor.decode(encoded) is Actor.decode(encoded)  # a service decodes a caller once
    here = actor.from_address("10.0.0.1")
    assert here.client_ip == "10.0.0.1" and here.user_id == "u-1" and actor.client_ip is None
    assert actor.from_address("10.0.0.1") is here and actor.from_address("10.0.0.2").client_ip == "10.0.0.2"
    assert Actor.decode(here.encode()).client_ip == "10.0.0.1"


def test_one_of_is_an_in_list_and_on_postgresql_one_array_parameter():
    from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
    from sqlalchemy.dialects import postgresql

    from crm_common.scope import one_of

    t = Table("things", MetaData(), Column("id", String(10), primary_key=True))
    query = select(t.c.id).where(one_of(t.c.id, False, "ids")).order_by(t.c.id)
    engine = create_engine("sqlite://")
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": i} for i in ("a", "b", "c")])
        assert conn.execute(query, {"ids": ["c", "a", "z"]}).scalars().all() == ["a", "c"]
        given = select(t.c.id).where(one_of(t.c.id, False, values=["b"]))
        assert conn.execute(given).scalars().all() == ["b"]
    compiled = select(t.c.id).where(one_of(t.c.id, True, "ids")).compile(dialect=postgresql.psycopg2.dialect())
    assert "things.id = ANY (%(ids)s::TEXT[])" in str(compiled)  # one parameter; text, never cut to varchar(10)
