"""A keyed lead create (an Idempotency-Key, as the gateway sends every API create) on both backends: on PostgreSQL
its duplicates are read with the key's look-up (crm_common.ahead), in two round trips in all; what the caller
sees is as on SQLite, where they are read on their own: a 409 listing the duplicates it may read in age order,
a forced lead linked to the oldest, a repeat answered with the first answer."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from crm_common import generations, idempotency
from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.harness import database_engine
from crm_common.unit_of_work import UnitOfWork
from crm_sales.domain import users
from crm_sales.models import Base, Lead
from crm_sales.service import SalesService

pytestmark = pytest.mark.integration
REP = Actor(user_id="r1", roles=("sales_rep",), team_id="t1", perms=BUILTIN_ROLES["sales_rep"])
OTHER = Actor(user_id="r3", roles=("sales_rep",), team_id="t2", perms=BUILTIN_ROLES["sales_rep"])
ADA = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "email": "ada@engines.example",
       "phone": "+442079460958", "country": "GB"}


def create(engine, actor, data, key):
    uow = UnitOfWork(engine, Base.metadata, "sales", None, actor, "req-1", rpc=True, defer_publish=True,
                     idempotent=Idempotent(key, idempotency.fingerprint("POST /api/v1/leads", key)))
    try:
        return SalesService.create_lead(type("Service", (), {"db": uow})(), dict(data)), uow.replayed
    finally:
        uow.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_keyed_create_finds_its_duplicates_with_the_keys_look_up(backend, tmp_path):
    with database_engine(backend, "sales", Base.metadata, tmp_path) as engine:
        with engine.begin() as conn:
            with Session(bind=conn) as session:
                for uid, team_id in (("r1", "t1"), ("r3", "t2")):
                    users.upsert(session, {"id": uid, "email": f"{uid}@x.test", "full_name": uid, "team_id": team_id,
                                           "territory_ids": [], "roles": ["sales_rep"], "is_active": True})
                session.flush()
            conn.execute(Base.metadata.tables[generations.TABLE].insert(), {"key": generations.KEY, "token": "t1"})
        create(engine, REP, {"last_name": "Zed", "email": "zed@elsewhere.example"}, "key-0")  # reference data cached
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        first, _ = create(engine, REP, ADA, "key-1")
        if backend == "postgresql":  # the key, the token and the duplicates; the lead, the answer, the events
            assert len(statements) == 2, "\n---\n".join(s[:300] for s in statements)
            assert "crm_idempotency" in statements[0] and "leads" in statements[0]
        second, _ = create(engine, OTHER, {**ADA, "email": "other@engines.example", "force": True}, "key-2")
        assert second["duplicate_of_id"] == first["id"]  # the company and last name match
        with pytest.raises(ServiceError) as dup:
            create(engine, REP, {**ADA, "first_name": "Augusta", "phone": "020 7946 0958"}, "key-3")
        assert dup.value.code == "conflict"
        # r1 reads their own lead, not r3's: listed in age order, each with what matched
        assert dup.value.extra["duplicates"] == [
            {"id": first["id"], "matched_on": ["email", "phone", "company"], "status": "new", "owner_id": "r1",
             "company": "Analytical Engines", "last_name": "Lovelace"}]
        assert dup.value.extra["hidden_duplicates"] == 1
        third, _ = create(engine, REP, {**ADA, "email": "third@engines.example", "phone": None, "force": True}, "key-4")
        assert third["duplicate_of_id"] == first["id"]  # the oldest of the two
        again, replayed = create(engine, REP, ADA, "key-1")
        assert again == first and replayed
        with engine.connect() as conn:
            assert len(conn.execute(select(Lead.id).where(Lead.last_name == "Lovelace")).all()) == 3


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_keyed_create_normalizes_its_email_and_phone_once(backend, tmp_path, monkeypatch):
    """The email and phone normalized for the duplicates read ahead (PostgreSQL) are those the lead keeps: each
    checked once a create on either backend, stored normalized; a bad one is still a 422 naming it."""
    from crm_sales.domain import checks
    calls = []
    for name in ("email", "phone"):
        real = getattr(checks, name)
        monkeypatch.setattr(checks, name, lambda *args, _real=real, _name=name: calls.append(_name) or _real(*args))
    with database_engine(backend, "sales", Base.metadata, tmp_path) as engine:
        made, _ = create(engine, REP, {**ADA, "email": "  Ada@Engines.Example ", "phone": "020 7946 0958"}, "key-1")
        assert sorted(calls) == ["email", "phone"]
        assert (made["email"], made["phone"]) == ("ada@engines.example", "+442079460958")
        with pytest.raises(ServiceError) as bad:
            create(engine, REP, {**ADA, "email": "not an address"}, "key-2")
        assert bad.value.code == "validation_failed" and list(bad.value.errors) == ["email"]
