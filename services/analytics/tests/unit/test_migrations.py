from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from crm_common.testing.checks import assert_migrations_match_models, database_at
from crm_analytics.models import EVENTS, GENERATIONS, Base


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("analytics", f"sqlite:///{tmp_path / 'analytics.db'}", Base.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_cuts_the_person_s_data_out_of_the_privacy_parts_logged_before(backend, tmp_path):
    """A log written before privacy parts were kept without their export still holds the person's data they
    carried: the upgrade cuts it; other events are left as they were."""
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    part = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
            "data": {"leads": [{"id": "L1", "title": "Countess", "email_hash": "ab" * 32}]}}
    rows = [("e1", "identity.privacy_requested.v1", {"request_id": "P1", "kind": "export", "email_hash": "ab" * 32}),
            ("e2", "sales.privacy_part_completed.v1", part),
            ("e3", "sales.lead_created.v1", {"id": "L1", "title": "Countess", "email_hash": "ab" * 32})]
    with database_at("analytics", "e61ec85864d0", backend, tmp_path) as (engine, upgrade):
        with engine.begin() as conn:
            for event_id, type_, data in rows:
                conn.execute(EVENTS.insert().values(
                    event_id=event_id, type=type_, producer=type_.split(".")[0], occurred_at=now, received_at=now,
                    envelope={"event_id": event_id, "type": type_, "data": data}))
        upgrade()
        with engine.connect() as conn:
            logged = {row.event_id: row.envelope["data"] for row in conn.execute(select(EVENTS))}
    assert logged == {"e1": rows[0][2],
                      "e2": {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
                             "data": None},
                      "e3": rows[2][2]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_dates_every_report_source_row_that_had_no_date(backend, tmp_path):
    """Rows written before the report sources' dates were required, without one (none expected), get the time of
    the first event the log keeps of their record, else their last event's time (`event_at`), else the upgrade's;
    a row with a date keeps it."""
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    with database_at("analytics", "f2a6c8d0e4b1", backend, tmp_path) as (engine, upgrade):
        with engine.begin() as conn:
            for seq, at in ((1, t0 + 2 * hour), (2, t0 + hour)):  # the ticket's events, the older logged last
                conn.execute(EVENTS.insert().values(
                    event_id=f"e{seq}", type="service_desk.ticket_updated.v1", producer="service_desk",
                    entity_id="t-logged", occurred_at=at, received_at=at, envelope={"data": {"id": "t-logged"}}))
            for gen in ("a", "b"):
                conn.execute(sa.text(f"INSERT INTO an_tickets_{gen} (id, reopened, first_response_breached, "
                                     "resolution_breached, event_at, created_at) VALUES "
                                     "('t-logged', 0, false, false, NULL, NULL), ('t-event-at', 0, false, false, "
                                     ":at, NULL), ('t-dated', 0, false, false, NULL, :at)"), {"at": t0})
                conn.execute(sa.text(f"INSERT INTO an_orders_{gen} (id) VALUES ('o-unknown')"))
        before = datetime.now(timezone.utc)
        upgrade()
        for gen in ("a", "b"):
            tickets, orders = GENERATIONS[gen].tickets, GENERATIONS[gen].orders
            with engine.connect() as conn:
                dates = dict(conn.execute(select(tickets.c.id, tickets.c.created_at)).all())
                placed = conn.execute(select(orders.c.placed_at)).scalar_one()
            assert dates == {"t-logged": t0 + hour, "t-event-at": t0, "t-dated": t0}
            assert before <= placed <= datetime.now(timezone.utc)
            columns = {c["name"]: c for c in sa.inspect(engine).get_columns(tickets.name)}
            assert columns["created_at"]["nullable"] is False


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_counts_the_tickets_per_support_group(backend, tmp_path):
    """Tickets counted before the support group was a pre-counted dimension (their team's row instead): the upgrade
    counts every ticket of both generations again, per team x group x channel x policy, its times per team x group,
    and keeps no team row; downgraded, the team rows come back summed from those."""
    from crm_analytics.projections import ticket_sums
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    tickets = [("t1", "g1", "email", "p1", t0 + timedelta(hours=2)), ("t2", "g1", "chat", None, None),
               ("t3", "g2", "email", "p1", t0 + timedelta(hours=5)), ("t4", None, "email", None, None)]
    with database_at("analytics", "7c4a9e2b6d18", backend, tmp_path) as (engine, upgrade):
        with engine.begin() as conn:
            for gen in ("a", "b"):
                for ticket, group, channel, policy, responded in tickets:
                    conn.execute(sa.text(
                        f"INSERT INTO an_tickets_{gen} (id, group_id, channel, sla_policy_id, status, reopened, "
                        "first_response_breached, resolution_breached, created_at, first_responded_at) VALUES "
                        "(:id, :group, :channel, :policy, 'open', 0, false, false, :at, :responded)"),
                        {"id": ticket, "group": group, "channel": channel, "policy": policy, "at": t0,
                         "responded": responded})
                conn.execute(sa.text(f"INSERT INTO an_ticket_sums_{gen} (dimension, value, opened, backlog, "
                                     "with_policy, breached, reopened, solved, solved_reopened, responded) VALUES "
                                     "('team', '', 4, 4, 2, 0, 0, 0, 0, 2)"))
        upgrade()
        with engine.connect() as conn:
            for gen in ("a", "b"):
                t = GENERATIONS[gen]
                sums = {(r.dimension, r.value): r.opened for r in conn.execute(select(t.ticket_sums))}
                times = {(r.dimension, r.value): r.tickets for r in conn.execute(select(t.ticket_times))
                         if r.dimension == "tg"}
                sep = ticket_sums.SEP
                assert {k: n for k, n in sums.items() if k[0] in ("team", "tgcp")} == {
                    ("tgcp", sep.join(parts)): 1 for parts in (["", "=g1", "=email", "=p1"], ["", "=g1", "=chat", ""],
                                                               ["", "=g2", "=email", "=p1"], ["", "", "=email", ""])}
                assert sorted(times) == [("tg", sep + "=g1"), ("tg", sep + "=g2")]
        from alembic import command
        from crm_common import migrate
        command.downgrade(migrate.alembic_config("analytics", str(engine.url.render_as_string(hide_password=False))),
                          "7c4a9e2b6d18")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT dimension, value, opened FROM an_ticket_sums_a "
                                        "WHERE dimension IN ('team', 'tgcp')")).all()
            timed = conn.execute(sa.text("SELECT dimension, value, sum(tickets) FROM an_ticket_times_a "
                                         "WHERE dimension IN ('team', 'tg') GROUP BY dimension, value")).all()
    assert [tuple(r) for r in rows] == [("team", "", 4)]
    assert [tuple(r) for r in timed] == [("team", "", 2)]
