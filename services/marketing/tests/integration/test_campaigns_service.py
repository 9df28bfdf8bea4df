"""Templates, campaigns and stats as the marketing service runs them: over the real broker with signed
callers (a caller without the permission refused on the bus too), the preview rendered in the service for a
person of its audience, and sales' events feeding a campaign's stats."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session


from crm_common import migrate, tables
from crm_common.bus import Publisher
from crm_common.config import repo_root
from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.envelope import make_envelope
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpcclient import RpcPool
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost
from crm_common.testing.waiting import eventually
from crm_marketing.models import AudienceMember, Base, Campaign, EmailTemplate

pytestmark = pytest.mark.integration

MARKETER = Actor(user_id="mk-1", roles=("marketer",), perms=BUILTIN_ROLES["marketer"])
ANALYST = Actor(user_id="an-1", roles=("analyst",), perms=BUILTIN_ROLES["analyst"])
REP = Actor(user_id="rep-1", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])


class Marketing:
    """The service process on a private vhost, its database (SQLite file or PostgreSQL), a signed RPC pool."""

    def __init__(self, backend: str, tmp_path):
        self.vhost = Vhost().create()
        self.pg = PgDatabases(["marketing"]).create() if backend == "postgresql" else None
        self.url = self.pg.url("marketing") if self.pg else f"sqlite:///{tmp_path / 'marketing.db'}"
        migrate.upgrade("marketing", self.url)
        self.engine = make_engine(self.url)
        env = {"AMQP_URI": self.vhost.uri, "CRM_VAR_DIR": str(tmp_path), "MARKETING_DATABASE_URL": self.url,
               "CRM_RETRY_DELAYS": "0.2,0.4", "CRM_OUTBOX_RELAY_INTERVAL": "0.3"}
        self.proc = ServiceProcess("crm_marketing.service:MarketingService", env, tmp_path, name="marketing",
                                   config=repo_root() / "services" / "marketing" / "config.yaml")
        self.proc.start().wait_ready("marketing")
        self.pool = RpcPool(self.vhost.uri, timeout=10, key_file=self.proc.env["CRM_BUS_KEY_FILE"])

    def call(self, method: str, *args, actor: Actor = MARKETER, **kwargs):
        return self.pool.call("marketing", method, *args, actor=actor, **kwargs)

    def refused(self, method: str, *args, **kwargs) -> ServiceError:
        with pytest.raises(ServiceError) as raised:
            self.call(method, *args, **kwargs)
        return raised.value

    def outbox(self, type_: str) -> list[dict]:
        table = Base.metadata.tables[tables.OUTBOX]
        with self.engine.connect() as conn:
            return [row.envelope for row in conn.execute(select(table).where(table.c.type == type_))]

    def close(self) -> None:
        self.proc.stop()
        self.pool.close()
        self.engine.dispose()
        self.vhost.delete()
        if self.pg is not None:
            self.pg.drop()


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory):
    service = Marketing(backend, tmp_path_factory.mktemp(f"marketing-campaigns-{backend}"))
    try:
        yield service
    finally:
        service.close()


def count(marketing, model) -> int:
    with Session(marketing.engine) as session:
        return session.query(model).count()


def test_a_template_is_previewed_for_a_person_of_the_audience(marketing):
    contact_id = str(uuid.uuid4())
    with Session(marketing.engine) as session, session.begin():
        session.add(AudienceMember(kind="contact", source_id=contact_id, email="ada@engines.example",
                                   first_name="<Ada>", company="Engines & Co", score=0, tags=[]))
    template = marketing.call("create_email_template", {
        "name": "Welcome", "subject": "Hi {{ contact.first_name|default('there') }}",
        "html": "<style>p { color: #333 }</style><p>Hi {{ contact.first_name }} of {{ account.name }}</p>"})
    assert template["html"] == '<p style="color:#333">Hi {{ contact.first_name }} of {{ account.name }}</p>'
    shown = marketing.call("preview_email_template", {"contact_id": contact_id}, id=template["id"], actor=ANALYST)
    assert shown == {"subject": "Hi <Ada>", "html": '<p style="color:#333">Hi &lt;Ada&gt; of Engines &amp; Co</p>',
                     "text": "Hi <Ada> of Engines & Co\n"}
    missing = marketing.refused("preview_email_template", {"contact_id": str(uuid.uuid4())}, id=template["id"])
    assert missing.code == "not_found"


def test_a_caller_without_the_permission_or_with_bad_input_changes_nothing(marketing):
    templates, campaigns = count(marketing, EmailTemplate), count(marketing, Campaign)
    body = {"name": "x", "subject": "x", "html": "<p>x</p>"}
    assert marketing.refused("create_email_template", body, actor=REP).code == "forbidden"
    assert marketing.refused("create_email_template", body, actor=ANALYST).code == "forbidden"
    assert marketing.refused("create_campaign", {"name": "x"}, actor=ANALYST).code == "forbidden"
    assert marketing.refused("list_campaigns", {}, actor=REP).code == "forbidden"
    bad = marketing.refused("create_email_template", {**body, "html": "<p>{{ contact.__class__ }}</p>"})
    assert bad.code == "validation_failed" and list(bad.errors) == ["html"]
    bad = marketing.refused("create_campaign", {"name": "x", "segment_ids": [str(uuid.uuid4())]})
    assert bad.code == "validation_failed" and list(bad.errors) == ["segment_ids"]
    assert (count(marketing, EmailTemplate), count(marketing, Campaign)) == (templates, campaigns)


def test_sales_events_feed_the_stats_of_a_campaign(marketing):
    campaign = marketing.call("create_campaign", {"name": "Fair", "type": "event", "currency": "EUR",
                                                  "actual_cost": "200.00"})
    assert campaign["status"] == "draft" and campaign["variants"] == []
    (created,) = [e for e in marketing.outbox("marketing.campaign_created.v1") if e["data"]["id"] == campaign["id"]]
    assert (created["entity"], created["action"]) == ("campaign", "create")
    opportunity = {"id": str(uuid.uuid4()), "campaign_id": campaign["id"], "amount": "900.00", "currency": "EUR",
                   "stage": "closed_won"}
    publisher = Publisher(marketing.vhost.uri)
    try:
        for type_, data in (("sales.lead_created.v1", {"id": str(uuid.uuid4()), "campaign_id": campaign["id"]}),
                            ("sales.opportunity_won.v1", opportunity)):
            publisher.publish(make_envelope(type_, data, "sales", None, "req-sales"))
    finally:
        publisher.close()
    stats = eventually(lambda: marketing.call("campaign_stats", id=campaign["id"], actor=ANALYST),
                       until=lambda found: found["leads"] == 1 and found["won"] == 1)
    assert (stats["leads"], stats["opportunities"], stats["won_amount"], stats["cost"], stats["roi"]) == (
        1, 1, "900.00", "200.00", "3.5000")
    with pytest.raises(ServiceError):
        marketing.call("campaign_stats", id=campaign["id"], actor=REP)
