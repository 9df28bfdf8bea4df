"""Sales domain tests: SQLite in memory, no broker; events checked against their contracts."""
from __future__ import annotations

import pytest

from crm_common.context import SYSTEM, Actor
from crm_common.testing.harness import rolled_back_session
from crm_common.testing.events import Events  # noqa: F401 - the fixtures' emit
from crm_common.db import make_engine
from crm_common.entrypoint import Context
from crm_common.permissions import BUILTIN_ROLES
from crm_sales.domain import users
from crm_sales.models import Base


def actor(role: str, user_id: str, team_id: str | None = None, territory_ids=()) -> Actor:
    return Actor(user_id=user_id, roles=(role,), team_id=team_id, territory_ids=tuple(territory_ids),
                 perms=BUILTIN_ROLES[role])


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def ctx(session, events):
    """`ctx(actor)`: the Context a domain function gets (for `actor`, else the system) in the test's session,
    its events recorded in `events`."""

    def make(actor: Actor = SYSTEM, request_id: str | None = None) -> Context:
        return Context(session, actor, events, request_id)
    return make


@pytest.fixture
def team(session):
    """Team t1: manager m1, reps r1 and r2; team t2: rep r3."""
    for uid, team_id, roles in (("m1", "t1", ["sales_manager"]), ("r1", "t1", ["sales_rep"]),
                                ("r2", "t1", ["sales_rep"]), ("r3", "t2", ["sales_rep"])):
        users.upsert(session, {"id": uid, "email": f"{uid}@x.test", "full_name": uid, "team_id": team_id,
                               "territory_ids": [], "roles": roles, "is_active": True})
    session.commit()  # seen by the import jobs' own connections
    return {"admin": actor("admin", "admin"), "m1": actor("sales_manager", "m1", "t1"),
            "r1": actor("sales_rep", "r1", "t1"), "r2": actor("sales_rep", "r2", "t1"),
            "r3": actor("sales_rep", "r3", "t2"), "marketer": actor("marketer", "mk")}
