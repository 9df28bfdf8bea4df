"""An entrypoint called with an Idempotency-Key keeps the key with what it made, in the same transaction
(issue 18): a repeat -- the client's retry after the replica died past its commit, or the broker's redelivery
of the unanswered request -- answers the first answer and makes nothing; another request under the key is a
422; a call that failed keeps nothing. SQLite in a file, no broker."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from marshmallow import Schema, fields
from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import callers, context, idempotency, tables
from crm_common.context import Actor
from crm_common.contracts.registry import RpcContract
from crm_common.contracts.schemas import Strict
from crm_common.db import IdMixin, make_base, make_engine, utcnow
from crm_common.entrypoint import entrypoint
from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent
from crm_common.testing.races import key_lookup_misses_once
from crm_common.unit_of_work import UnitOfWork

Base = make_base("idem_probe")


class Thing(IdMixin, Base):
    __tablename__ = "idem_things"
    name: Mapped[str] = mapped_column(String(100))


class NameIn(Strict):
    name = fields.String(required=True)


class ThingOut(Schema):
    id = fields.String()
    name = fields.String()


CREATE = RpcContract("things", "create_thing", NameIn, ThingOut, permission=("lead", "create"))
runs: list[str] = []


def create(ctx, data):
    runs.append(data["name"])
    if data["name"] == "fail":
        raise ServiceError("conflict", "refused by the domain")
    thing = Thing(name=data["name"])
    ctx.session.add(thing)
    return thing


create_thing = entrypoint(CREATE, create)
ALICE = Actor(user_id="alice", perms={"lead": {"create": "own"}})
BOB = Actor(user_id="bob", perms={"lead": {"create": "own"}})
KEY = Idempotent("client-key-0001", idempotency.fingerprint("POST /api/v1/things", "digest-1"))


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'things.db'}")
    Base.metadata.create_all(engine)
    runs.clear()
    yield engine
    engine.dispose()


class Service:
    def __init__(self, engine, actor, call):
        self.db = UnitOfWork(engine, Base.metadata, "things", None, actor, "req-1", rpc=True, idempotent=call)


def call(engine, payload, actor=ALICE, key=KEY):
    return call_noting(engine, payload, actor, key)[0]


def call_noting(engine, payload, actor=ALICE, key=KEY):
    """The answer, and whether the unit of work was marked a replay (what the reply then tells the caller)."""
    service = Service(engine, actor, key)
    try:
        return create_thing(service, payload), service.db.replayed
    finally:
        service.db.close()


def things(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Thing)).scalar_one()


def test_a_repeat_of_the_key_answers_the_first_answer_and_makes_nothing(engine):
    first = call(engine, {"name": "Ada"})
    again = call(engine, {"name": "Ada"})  # the retry after the replica died past its commit
    assert again == first and first["name"] == "Ada"
    assert runs == ["Ada"] and things(engine) == 1


def test_a_repeat_is_marked_a_replay_and_the_first_call_is_not(engine):
    """The mark the reply carries to the gateway (rpc.SignedRpc.handle_result), which then answers the
    retry with `Idempotent-Replayed: true`."""
    first, first_replayed = call_noting(engine, {"name": "Ada"})
    again, again_replayed = call_noting(engine, {"name": "Ada"})
    assert again == first and (first_replayed, again_replayed) == (False, True)
    assert call_noting(engine, {"name": "Ada"}, key=None)[1] is False  # no key: never a replay


def test_the_key_is_kept_in_the_transaction_that_made_the_record(engine):
    made = call(engine, {"name": "Ada"})
    table = Base.metadata.tables[tables.IDEMPOTENCY]
    with engine.connect() as conn:
        kept = conn.execute(select(table)).one()
    assert (kept.owner_id, kept.key, kept.method) == ("alice", KEY.key, "create_thing")
    assert idempotency.find(_session(engine), Base.metadata, "alice", KEY, "create_thing") == made


def test_a_run_that_loses_the_race_for_its_key_is_rolled_back_and_answers_the_winners_answer(engine, monkeypatch):
    """On PostgreSQL the same request run twice at once (a redelivery meeting the retry) can both miss the key;
    the second insert of the key fails once the first commits. Here the first has committed and the second's
    look-up is made to miss it (SQLite serializes the two outright)."""
    first = call(engine, {"name": "Ada"})
    key_lookup_misses_once(monkeypatch)
    assert call_noting(engine, {"name": "Ada"}) == (first, True)  # the winner's answer: a replay
    assert runs == ["Ada", "Ada"] and things(engine) == 1  # the loser ran, and its thing was rolled back


def test_another_request_under_the_key_is_a_422_and_runs_nothing(engine):
    call(engine, {"name": "Ada"})
    other = Idempotent(KEY.key, idempotency.fingerprint("POST /api/v1/things", "digest-2"))
    with pytest.raises(ServiceError) as refused:
        call(engine, {"name": "Grace"}, key=other)
    assert refused.value.code == "validation_failed" and "Idempotency-Key" in refused.value.errors
    assert runs == ["Ada"] and things(engine) == 1


def test_keys_are_their_callers_own(engine):
    mine, theirs = call(engine, {"name": "Ada"}), call(engine, {"name": "Ada"}, actor=BOB)
    assert mine["id"] != theirs["id"] and things(engine) == 2


def test_a_failed_call_keeps_nothing_and_its_retry_runs(engine):
    with pytest.raises(ServiceError):
        call(engine, {"name": "fail"})
    table = Base.metadata.tables[tables.IDEMPOTENCY]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    again = Idempotent(KEY.key, idempotency.fingerprint("POST /api/v1/things", "digest-3"))
    assert call(engine, {"name": "Ada"}, key=again)["name"] == "Ada"  # the key was free: another body is fine


def test_a_call_without_a_key_is_not_remembered(engine):
    call(engine, {"name": "Ada"}, key=None)
    call(engine, {"name": "Ada"}, key=None)
    assert things(engine) == 2


def test_a_key_past_its_day_is_free_again_and_purged(engine):
    call(engine, {"name": "Ada"})
    table = Base.metadata.tables[tables.IDEMPOTENCY]
    with engine.begin() as conn:
        conn.execute(update(table).values(created_at=utcnow() - idempotency.TTL - timedelta(minutes=1)))
    call(engine, {"name": "Ada"})
    assert things(engine) == 2
    with engine.begin() as conn:
        conn.execute(update(table).values(created_at=utcnow() - idempotency.TTL - timedelta(minutes=1)))
    assert idempotency.purge(engine, Base.metadata) == 1



def test_the_key_travels_under_the_callers_signature():
    """A key the signature does not cover (added or changed on the way) makes the call unauthenticated."""
    secret = os.urandom(callers.KEY_BYTES)
    data = callers.sign(secret, "things.create_thing", ALICE, "req-1", idempotent=KEY)
    assert callers.verify(secret, "things.create_thing", data) == ALICE
    assert callers.idempotent_pair(data) == (KEY.key, KEY.fingerprint)
    for changed in ({context.IDEMPOTENCY_KEY: "another-key-0001"}, {context.IDEMPOTENCY_FINGERPRINT: "0" * 64},
                    {context.IDEMPOTENCY_FINGERPRINT: None}):
        with pytest.raises(ServiceError) as refused:
            callers.verify(secret, "things.create_thing", {**data, **changed})
        assert refused.value.code == "unauthenticated"
    unsigned = callers.sign(secret, "things.create_thing", ALICE, "req-1")
    assert callers.idempotent_pair(unsigned) is None
    with pytest.raises(ServiceError):
        callers.verify(secret, "things.create_thing", {**unsigned, context.IDEMPOTENCY_KEY: KEY.key,
                                                      context.IDEMPOTENCY_FINGERPRINT: KEY.fingerprint})


def _session(engine):
    from sqlalchemy.orm import Session
    return Session(engine)


def test_an_erasure_forgets_the_answers_that_name_the_person_and_only_those(engine):
    """A privacy erasure reaches the kept answers too (crm_common.entrypoint.dispatch runs this after a
    service's own erasure): a retry of the key then runs afresh instead of handing the erased data back."""
    call(engine, {"name": "Ada.Lovelace@Example.com"})
    other = Idempotent("client-key-0002", idempotency.fingerprint("POST /api/v1/things", "digest-2"))
    kept = call(engine, {"name": "Grace"}, key=other)
    with _session(engine) as session, session.begin():
        assert idempotency.forget(session, Base.metadata, " ada.lovelace@example.com") == 1  # any case, trimmed
    with _session(engine) as session:
        assert idempotency.find(session, Base.metadata, "alice", KEY, "create_thing") is idempotency.MISSING
        assert idempotency.find(session, Base.metadata, "alice", other, "create_thing") == kept
    again = call(engine, {"name": "Ada.Lovelace@Example.com"})  # the retry makes it again: nothing replayed
    assert runs == ["Ada.Lovelace@Example.com", "Grace", "Ada.Lovelace@Example.com"] and things(engine) == 3
    assert again["id"] != kept["id"]
