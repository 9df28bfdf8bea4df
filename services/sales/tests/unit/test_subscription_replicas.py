"""The renewal timer on several replicas (PostgreSQL): a due renewal and its reminder happen once, whichever
replicas scan at the same time."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_common import outbox, tables
from crm_common.context import SYSTEM
from crm_common.entrypoint import Context
from crm_common.testing.harness import database_engine
from crm_sales.domain import subscription_renewals
from crm_sales.models import Account, Base, Plan, Subscription

pytestmark = pytest.mark.integration
COUNT = 30


@pytest.fixture
def engine(tmp_path):
    with database_engine("postgresql", "sales", Base.metadata, tmp_path) as engine:
        with Session(engine) as session, session.begin():
            plan = Plan(name="Monthly", price=Decimal("10.00"), currency="EUR", period="month", trial_days=0,
                        renewal_reminder_days=7, active=True)
            account = Account(name="Acme", name_key="acme")
            session.add_all([plan, account])
            session.flush()
            for _ in range(COUNT):
                session.add(Subscription(account_id=account.id, plan_id=plan.id, quantity=1, status="active",
                                         starts_on=date(2026, 11, 1), anchor_on=date(2026, 11, 1), term=0,
                                         period_start=date(2026, 11, 1), renews_on=date(2026, 12, 1),
                                         mrr=Decimal("10.00"), currency="EUR"))
        yield engine


def context(session) -> Context:
    """A Context whose events go to the outbox table in the session's transaction, as the service's do."""
    def emit(type_, data):
        outbox.record(session, Base.metadata, "sales", type_, data, SYSTEM, None)
    return Context(session, SYSTEM, emit, None)


def scan(engine, on: date, results: list, barrier: threading.Barrier | None = None) -> None:
    with Session(engine) as session, session.begin():
        if barrier is not None:
            barrier.wait()
        results.append(subscription_renewals.run(context(session), on))


def outbox_types(engine) -> list[str]:
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        return [row.type for row in conn.execute(select(table.c.type))]


def test_a_scan_skips_what_another_replica_holds_and_finds_nothing_after_its_commit(engine):
    with Session(engine) as first, first.begin():
        held = subscription_renewals.renew_batch(context(first), date(2026, 12, 1))
        assert held["renewed"] == COUNT
        other: list = []
        scan(engine, date(2026, 12, 1), other)  # while the first holds its rows
        assert other == [{"renewed": 0, "expired": 0, "reminded": 0}]
    later: list = []
    scan(engine, date(2026, 12, 1), later)
    assert later[0]["renewed"] == 0
    with Session(engine) as session:
        assert set(session.execute(select(Subscription.renews_on)).scalars()) == {date(2027, 1, 1)}


def test_replicas_scanning_together_renew_and_remind_once_each(engine):
    results: list = []
    barrier = threading.Barrier(3)
    threads = [threading.Thread(target=scan, args=(engine, date(2026, 12, 25), results, barrier)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r["renewed"] for r in results) == COUNT
    assert sum(r["reminded"] for r in results) == COUNT  # the next renewal (1 January) is 7 days away
    types = outbox_types(engine)
    assert types.count("sales.subscription_renewed.v1") == COUNT
    assert types.count("sales.subscription_renewal_due.v1") == COUNT
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Subscription)
                               .where(Subscription.term == 1)).scalar() == COUNT
