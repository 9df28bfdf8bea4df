"""Scoring and mentions in the running service (SQLite and PostgreSQL, the real broker): the sweep timer
scores a lead no handler told it about, a signed caller without the permission is refused on the bus, and
a connector that lost a race for the same post gets the 409 while its transaction goes on (PostgreSQL
aborts a transaction on a failed INSERT unless it ran in a savepoint)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import migrate, tables
from crm_common.config import repo_root
from crm_common.context import Actor, Context
from crm_common.db import make_engine
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpcclient import RpcPool
from crm_common.testing.harness import ServiceProcess, Vhost, database_url
from crm_common.testing.waiting import eventually
from crm_marketing.domain import mentions
from crm_marketing.models import AudienceMember, Base, SocialMention
from crm_marketing_contracts import MentionIn

pytestmark = pytest.mark.integration

MARKETER = Actor(user_id="mk-1", roles=("marketer",), perms=BUILTIN_ROLES["marketer"])
ANALYST = Actor(user_id="an-1", roles=("analyst",), perms=BUILTIN_ROLES["analyst"])


@pytest.fixture(scope="module")
def service(backend, tmp_path_factory):
    """(engine, call): the service process with a fast sweep, its database, a signed RPC call."""
    tmp = tmp_path_factory.mktemp(f"marketing-scoring-{backend}")
    vhost = Vhost().create()
    with database_url(backend, "marketing", tmp) as url:
        migrate.upgrade("marketing", url)
        engine = make_engine(url)
        env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "MARKETING_DATABASE_URL": url,
               "CRM_SCORING_INTERVAL": "0.5", "CRM_OUTBOX_RELAY_INTERVAL": "0.3"}
        proc = ServiceProcess("crm_marketing.service:MarketingService", env, tmp, name="marketing",
                              config=repo_root() / "services" / "marketing" / "config.yaml")
        proc.start().wait_ready("marketing")
        pool = RpcPool(vhost.uri, timeout=10, key_file=proc.env["CRM_BUS_KEY_FILE"])

        def call(method, *args, actor=MARKETER, **kwargs):
            return pool.call("marketing", method, *args, actor=actor, **kwargs)
        try:
            yield engine, call
        finally:
            proc.stop()
            pool.close()
            engine.dispose()
            vhost.delete()


def refused(call, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        call(*args, **kwargs)
    return raised.value


def outbox(engine, type_: str) -> list[dict]:
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        return [row.envelope for row in conn.execute(select(table).where(table.c.type == type_))]


def test_the_sweep_scores_a_lead_no_handler_told_it_about(service):
    engine, call = service
    tag = f"Industry {uuid.uuid4().hex[:6]}"
    lead_id = str(uuid.uuid4())
    with Session(engine) as session, session.begin():  # as a bulk load of the audience would leave it
        session.add(AudienceMember(kind="lead", source_id=lead_id, industry=tag, score=0, tags=[]))
    rule = call("create_scoring_rule", {"name": tag, "kind": "attribute", "points": 35,
                                        "condition": {"field": "industry", "op": "eq", "value": tag}})
    sent = eventually(lambda: [e["data"] for e in outbox(engine, "marketing.score_changed.v1")
                               if e["data"]["lead_id"] == lead_id], timeout=15, until=bool)
    assert sent == [{"lead_id": lead_id, "score": 35, "previous": None}]
    explained = call("get_lead_score", id=lead_id)
    assert explained["score"] == 35 and explained["points"][0]["rule_id"] == rule["id"]
    assert explained["computed_at"].endswith("Z")
    call("delete_scoring_rule", id=rule["id"])  # the rule gone: every lead is rescored, this one to 0
    eventually(lambda: [e["data"]["score"] for e in outbox(engine, "marketing.score_changed.v1")
                        if e["data"]["lead_id"] == lead_id], timeout=15, until=lambda scores: scores == [35, 0])


def test_a_caller_without_the_permission_changes_nothing_on_the_bus(service):
    engine, call = service
    body = {"name": "x", "kind": "attribute", "points": 5, "condition": {"field": "country", "op": "exists"}}
    assert refused(call, "create_scoring_rule", body, actor=ANALYST).code == "forbidden"
    post = {"network": "twitter", "external_id": uuid.uuid4().hex, "author_handle": "ada", "text": "great",
            "posted_at": "2026-12-01T09:00:00Z"}
    assert refused(call, "create_mention", post, actor=ANALYST).code == "forbidden"
    mention = call("create_mention", post)
    assert refused(call, "reply_mention", {"text": "hi"}, id=mention["id"], actor=ANALYST).code == "forbidden"
    assert call("get_mention", id=mention["id"], actor=ANALYST) == mention
    bad = refused(call, "create_scoring_rule", {**body, "condition": {"field": "salary", "op": "eq", "value": 1}})
    assert bad.code == "validation_failed" and "condition" in bad.errors


def test_a_connector_that_lost_the_race_gets_the_409_and_its_transaction_goes_on(service, monkeypatch):
    engine, call = service
    post = {"network": "weibo", "external_id": uuid.uuid4().hex, "author_handle": "ada", "text": "不错",
            "posted_at": "2026-12-01T09:00:00Z"}
    winner = call("create_mention", post)
    real, calls = mentions._existing, []

    def not_seen_the_first_time(session, network, external_id):
        calls.append(1)
        return None if len(calls) == 1 else real(session, network, external_id)

    monkeypatch.setattr(mentions, "_existing", not_seen_the_first_time)
    events = []
    with Session(engine) as session, session.begin():
        ctx = Context(session, MARKETER, lambda type_, data: events.append(type_))
        with pytest.raises(ServiceError) as lost:
            mentions.create(ctx, MentionIn().load(post))
        assert lost.value.code == "conflict" and lost.value.extra["existing_id"] == winner["id"]
        other = mentions.create(ctx, MentionIn().load({**post, "external_id": uuid.uuid4().hex})).id
    with Session(engine) as session:
        assert session.get(SocialMention, other) is not None
    assert events == ["marketing.mention_received.v1"]
