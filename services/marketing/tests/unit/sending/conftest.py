"""The sending unit tests: a SQLite file database, a mail catcher process, an audience and a campaign (`h`)."""
from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from crm_common import jobs
from crm_common.context import Actor, Context
from crm_common.db import make_engine
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.events import Events
from crm_common import mailcatcher
from crm_marketing.domain import send_job, sending
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, Base, Campaign, EmailTemplate, Segment

MARKETER = Actor(user_id="mk-1", roles=("marketer",), perms=BUILTIN_ROLES["marketer"])
HTML = '<html><body><p>Hi {{ contact.first_name|default("there") }}</p><a href="https://acme.example/offer">Offer</a></body></html>'


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CRM_SMTP_RATE_PER_SECOND", "100000")
    monkeypatch.setenv("CRM_SMTP_RATE_PER_MINUTE", "10000000")
    engine = make_engine(f"sqlite:///{tmp_path / 'marketing.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def catcher(tmp_path, monkeypatch):
    directory = tmp_path / "mail"
    with mailcatcher.running(directory) as url:
        monkeypatch.setenv("CRM_SMTP_URL", url)
        yield directory


def audience(engine, n: int, first: int = 0) -> list[str]:
    addresses = [f"person{i}@example.com" for i in range(first, first + n)]
    with Session(engine) as session, session.begin():
        session.add_all([AudienceMember(kind="lead", source_id=f"lead-{a}", email=a, email_hash=email_hash(a),
                                        first_name=f"Name{a[6:-12]}") for a in addresses])
    return addresses


def campaign(engine, html: str = HTML, **fields) -> str:
    with Session(engine) as session, session.begin():
        segment = Segment(name="everyone", rules={"all": []})
        template = EmailTemplate(name="t", subject="Offer for {{ contact.first_name }}", html=html)
        session.add_all([segment, template])
        session.flush()
        found = Campaign(name="Spring", type="email", segment_ids=[segment.id], template_id=template.id,
                         from_email="news@acme.example", from_name="Acme", **fields)
        session.add(found)
        session.flush()
        return found.id


class Service:
    """What ctx.service offers the domain: a runner whose submitted jobs are run on demand."""

    def __init__(self):
        self.submitted = []
        self.runner = self

    def submit(self, job_id):
        self.submitted.append(job_id)


def call(engine, fn, *args, caller: Actor = MARKETER):
    """Run a domain function as the entrypoint would: one transaction, then its after-commit work."""
    service, events = Service(), Events()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        ctx = Context(session, caller, events, "req-1", service)
        result = fn(ctx, *args)
    for after in ctx._after:
        after()
    return result, service.submitted, events


def start(engine, campaign_id: str, at=None) -> str:
    job, _, _ = call(engine, sending.start, campaign_id, {"at": at})
    return job["id"]


def run(engine, job_id: str) -> dict:
    return jobs.run(engine, Base.metadata, job_id, send_job.run)


def per_address(directory) -> Counter:
    return Counter(m["To"] for m in mailcatcher.caught(directory))


@pytest.fixture
def h():
    """The helpers above, for the test modules (which cannot import this conftest)."""
    return SimpleNamespace(audience=audience, campaign=campaign, call=call, start=start, run=run,
                           per_address=per_address, MARKETER=MARKETER)
