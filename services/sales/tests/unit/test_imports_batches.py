"""The batched import path: per-row errors, duplicates, assignment, one event per batch, progress per batch."""
from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from crm_common import jobs, tables
from crm_common.context import Actor
from crm_common.contracts import validate_event_data
from crm_common.db import utcnow
from crm_common.entrypoint import Context
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.harness import database_engine
from crm_sales.domain import lead_imports, leads, territories
from crm_sales.models import Base, Lead


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request, tmp_path):
    """These tests on SQLite and on PostgreSQL (where batches are a COPY and the duplicate lookup is planned
    differently)."""
    with database_engine(request.param, "sales", Base.metadata, tmp_path) as engine:
        yield engine


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(lead_imports, "BATCH", 3)


def run(engine, actor, rows, **options):
    with Session(engine) as session, session.begin():
        job = lead_imports.start(Context(session, actor, None, "req-9"), {"rows": rows, **options})
    return jobs.run(engine, Base.metadata, job["id"], lead_imports.run)


def stored(engine) -> dict:
    with Session(engine) as session:
        return {lead.last_name: lead for lead in session.execute(select(Lead)).scalars()}


def events(engine) -> list[dict]:
    with Session(engine) as session:
        return session.execute(select(Base.metadata.tables[tables.OUTBOX].c.envelope)
                               .order_by(Base.metadata.tables[tables.OUTBOX].c.id)).scalars().all()


def test_invalid_rows_are_reported_by_their_number_across_batches(engine, team, small_batches):
    rows = [{"last_name": f"L{i}", "email": f"l{i}@x.example"} for i in range(1, 8)]
    rows[1]["email"] = "not-an-email"         # row 2, first batch
    rows[4]["phone"] = "12"                   # row 5, second batch
    rows[6] = {"first_name": "Nobody"}        # row 7, third batch: no last name, company or email
    done = run(engine, team["admin"], rows)
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == ("done", 7, 4, 3)
    assert [(e["row"], sorted(e["errors"])) for e in done["errors"]] == [(2, ["email"]), (5, ["phone"]),
                                                                         (7, ["last_name"])]
    assert sorted(stored(engine)) == ["L1", "L3", "L4", "L6"]


def test_duplicates_in_the_file_and_in_the_database_are_linked_to_the_first(engine, team, small_batches):
    with Session(engine) as session, session.begin():
        session.add(Lead(id="old-1", last_name="Old", email="old@x.example", source="api", status="new"))
    rows = [{"last_name": "A", "email": "a@x.example"},
            {"last_name": "B", "email": "OLD@x.example"},                   # the stored lead's email
            {"last_name": "C", "phone": "+49 30 1234567", "country": "DE"},
            {"last_name": "D", "email": "a@x.example"},                     # row 1 (an earlier batch)
            {"last_name": "E", "phone": "+49301234567"},                    # row 3's phone, next batch
            {"last_name": "Lee", "company": "Acme Inc."},
            {"last_name": "LEE", "company": "acme inc"}]                    # company and last name
    done = run(engine, team["admin"], rows, force=True)
    assert (done["succeeded"], done["failed"], done["result"]["linked_duplicates"]) == (7, 0, 4)
    leads_ = stored(engine)
    assert leads_["B"].duplicate_of_id == "old-1"
    assert leads_["D"].duplicate_of_id == leads_["A"].id
    assert leads_["E"].duplicate_of_id == leads_["C"].id
    assert leads_["LEE"].duplicate_of_id == leads_["Lee"].id
    assert leads_["A"].duplicate_of_id is None and leads_["C"].duplicate_of_id is None


def test_without_force_duplicates_are_skipped_with_their_row_and_first_lead(engine, team, small_batches):
    with Session(engine) as session, session.begin():
        session.add(Lead(id="old-1", last_name="Old", email="old@x.example", source="api", status="new"))
    rows = [{"last_name": "A", "email": "old@x.example"}, {"last_name": "B", "email": "b@x.example"},
            {"last_name": "C", "email": "c@x.example"}, {"last_name": "D", "email": "B@x.example"}]
    done = run(engine, team["admin"], rows, force=False)
    assert (done["succeeded"], done["failed"]) == (2, 2)
    first_b = stored(engine)["B"].id
    assert [(e["row"], e["duplicate_of_id"], list(e["errors"])) for e in done["errors"]] == [
        (1, "old-1", ["duplicate"]), (4, first_b, ["duplicate"])]
    assert sorted(stored(engine)) == ["B", "C", "Old"]


def test_assignment_rules_and_territories_give_owners_and_teams(engine, team, small_batches, events):
    with Session(engine) as session, session.begin():
        admin = Context(session, team["admin"], events)  # this session commits: the job's connections see it
        territories.create(admin, {"name": "UK", "countries": ["GB"], "member_ids": ["r1", "r2"]})
        territories.create_rule(admin, {"name": "German software", "priority": 1, "countries": ["DE"],
                                        "team_id": "t2", "strategy": "round_robin"})
    rows = [{"last_name": f"UK{i}", "country": "GB"} for i in range(4)] + [{"last_name": "DE0", "country": "DE"}]
    done = run(engine, team["marketer"], rows)
    assert done["succeeded"] == 5
    leads_ = stored(engine)
    uk = [leads_[f"UK{i}"] for i in range(4)]
    assert sorted(lead.owner_id for lead in uk) == ["r1", "r1", "r2", "r2"]  # least loaded, balanced
    assert {(lead.team_id, lead.assignment_rule) for lead in uk} == {("t1", "territory")}
    assert uk[0].territory_id is not None and {lead.territory_id for lead in uk} == {uk[0].territory_id}
    assert (leads_["DE0"].owner_id, leads_["DE0"].team_id) == ("r3", "t2")
    assert leads_["DE0"].assignment_rule.startswith("round_robin")


def test_each_batch_commits_one_event_naming_all_its_leads(engine, team, small_batches):
    rows = [{"last_name": f"L{i}", "email": f"l{i}@x.example", "company": f"Co {i}"} for i in range(7)]
    rows[3]["email"] = "broken"
    done = run(engine, team["r1"], rows)
    assert done["succeeded"] == 6
    envelopes = events(engine)
    assert [e["type"] for e in envelopes] == ["sales.leads_imported.v1"] * 3  # 3 + 3 + 1 rows, none per lead
    assert [len(e["data"]["ids"]) for e in envelopes] == [3, 2, 1]
    leads_ = stored(engine)
    assert sorted(i for e in envelopes for i in e["data"]["ids"]) == sorted(lead.id for lead in leads_.values())
    for envelope in envelopes:
        assert not validate_event_data(envelope["type"], envelope["data"])
        assert envelope["data"]["job_id"] == done["id"] and envelope["request_id"] == "req-9"
        assert envelope["actor"]["user_id"] == "r1"
        assert [lead["id"] for lead in envelope["data"]["leads"]] == envelope["data"]["ids"]
    first = envelopes[0]["data"]["leads"][0]
    lead = leads_["L0"]
    assert first == {"id": lead.id, "owner_id": "r1", "team_id": "t1", "territory_id": None, "status": "new",
                     "source": "import", "email": "l0@x.example", "company": "Co 0"}
    assert {lead.import_job_id for lead in leads_.values()} == {done["id"]}


def test_a_crash_keeps_the_committed_batches_and_the_rerun_finishes_the_rest(engine, team, small_batches,
                                                                             monkeypatch):
    rows = [{"last_name": f"L{i}", "email": f"l{i}@x.example"} for i in range(8)]
    real = leads.lead_values

    def crash_on_row_5(data, source, assigner):
        if data.get("last_name") == "L4":
            raise RuntimeError("the process died")
        return real(data, source, assigner)

    monkeypatch.setattr(leads, "lead_values", crash_on_row_5)
    failed = run(engine, team["admin"], rows)
    assert (failed["status"], failed["processed"], failed["succeeded"]) == ("failed", 3, 3)  # batch 2 rolled back
    assert sorted(stored(engine)) == ["L0", "L1", "L2"] and len(events(engine)) == 1
    monkeypatch.setattr(leads, "lead_values", real)
    table = Base.metadata.tables[jobs.JOBS]
    with engine.begin() as conn:  # as a dead runner leaves it: running, its lease over
        conn.execute(table.update().values(status="running", updated_at=utcnow() - jobs.LEASE - timedelta(seconds=1)))
    done = jobs.run(engine, Base.metadata, failed["id"], lead_imports.run)
    assert (done["status"], done["processed"], done["succeeded"]) == ("done", 8, 8)
    assert sorted(stored(engine)) == [f"L{i}" for i in range(8)]
    assert sum(len(e["data"]["ids"]) for e in events(engine)) == 8
    assert all(lead.duplicate_of_id is None for lead in stored(engine).values())


def test_a_rerun_reports_each_invalid_row_once(engine, team, small_batches, monkeypatch):
    # row 8 (third batch) is invalid; the second batch dies before it is reached
    rows = [{"last_name": f"L{i}", "email": f"l{i}@x.example"} for i in range(9)]
    rows[7]["email"] = "not-an-email"
    real = leads.assign_new

    def crash_on_l4(assigner, actor, lead, owner_id=None):
        if lead.last_name == "L4":
            raise RuntimeError("the process died")
        return real(assigner, actor, lead, owner_id)

    monkeypatch.setattr(leads, "assign_new", crash_on_l4)
    failed = run(engine, team["admin"], rows)
    assert (failed["status"], failed["processed"], failed["failed"]) == ("failed", 3, 0)
    assert [e for e in failed["errors"] if "row" in e] == []  # row 8's batch never committed
    monkeypatch.setattr(leads, "assign_new", real)
    table = Base.metadata.tables[jobs.JOBS]
    with engine.begin() as conn:  # as a dead runner leaves it: running, its lease over
        conn.execute(table.update().values(status="running", updated_at=utcnow() - jobs.LEASE - timedelta(seconds=1)))
    done = jobs.run(engine, Base.metadata, failed["id"], lead_imports.run)
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == ("done", 9, 8, 1)
    assert [(e["row"], sorted(e["errors"])) for e in done["errors"] if "row" in e] == [(8, ["email"])]


def test_progress_is_visible_after_each_batch(engine, team, small_batches, monkeypatch):
    seen = []
    real = jobs.JobContext.store  # the counters written with each batch's commit

    def watch(ctx, values, conn):
        real(ctx, values, conn)
        seen.append((values["processed"], values["succeeded"], values["failed"]))

    monkeypatch.setattr(jobs.JobContext, "store", watch)
    rows = [{"last_name": f"L{i}"} for i in range(7)]
    rows[4] = {"first_name": "x"}
    run(engine, team["admin"], rows)
    assert seen == [(3, 3, 0), (6, 5, 1), (7, 6, 1)]


def test_a_batch_costs_the_same_statements_whatever_its_size(engine, team, monkeypatch):
    def statements(n):
        count = []
        listener = lambda *args: count.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            run(engine, team["admin"], [{"last_name": f"S{n}-{i}", "email": f"s{n}-{i}@x.example",
                                         "phone": f"+4930{n:03d}{i:04d}", "company": f"Co {i}"} for i in range(n)])
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(count)

    monkeypatch.setattr(lead_imports, "BATCH", 1000)
    assert statements(5) == statements(200) > 0


@pytest.mark.integration
def test_on_postgresql_the_service_runs_an_import_in_a_worker_process(tmp_path):
    admin = Actor(user_id="admin", roles=("admin",), perms=BUILTIN_ROLES["admin"])
    with database_engine("postgresql", "sales", Base.metadata, tmp_path) as engine:
        with Session(engine) as session, session.begin():
            job = lead_imports.start(Context(session, admin, None, "r"),
                                     {"csv": "last_name,email\nW1,w1@x.example\nW2,not-an-email\nW3,w3@x.example\n"})
        runner = jobs.JobRunner(Base.metadata, {lead_imports.KIND: lead_imports.run}, metadata_ref="crm_sales.models:Base.metadata")
        assert runner._run_in_worker_process(engine, job["id"], lead_imports.run) == "done"
        with Session(engine) as session:
            done = jobs.get(session, Base.metadata, job["id"])
        assert (done["processed"], done["succeeded"], done["failed"]) == (3, 2, 1)
        assert sorted(stored(engine)) == ["W1", "W3"]
        assert [e["type"] for e in events(engine)] == ["sales.leads_imported.v1"]


@pytest.mark.integration
def test_a_worker_process_that_dies_fails_its_job_and_keeps_what_it_committed(monkeypatch, tmp_path):
    admin = Actor(user_id="admin", roles=("admin",), perms=BUILTIN_ROLES["admin"])
    with database_engine("postgresql", "sales", Base.metadata, tmp_path) as engine:
        lines = ["last_name,email"] + [f"K{i},k{i}@x.example" for i in range(60_000)]
        with Session(engine) as session, session.begin():
            job = lead_imports.start(Context(session, admin, None, "r"), {"csv": "\n".join(lines)})
        runner = jobs.JobRunner(Base.metadata, {lead_imports.KIND: lead_imports.run}, metadata_ref="crm_sales.models:Base.metadata")
        started = []
        real_popen = subprocess.Popen

        def popen(*args, **kwargs):  # the runner's worker, killed once it has committed a batch
            proc = real_popen(*args, **kwargs)
            started.append(proc)
            return proc

        monkeypatch.setattr(subprocess, "Popen", popen)
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(runner._run_in_worker_process(engine, job["id"],
                                                                                              lead_imports.run)))
        thread.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            with Session(engine) as session:
                if jobs.get(session, Base.metadata, job["id"])["processed"] > 0:
                    break
            time.sleep(0.05)
        started[0].kill()
        thread.join(30)
        assert outcome == ["failed"]
        with Session(engine) as session:
            failed = jobs.get(session, Base.metadata, job["id"])
            kept = session.execute(select(func.count()).select_from(Lead)).scalar()
        assert failed["status"] == "failed" and "exited with code -9" in failed["errors"][-1]["error"]
        assert 0 < failed["processed"] < 60_000 and kept == failed["succeeded"]  # its committed batches stay


def _define(engine, admin, **field):
    from crm_sales.domain import custom
    with Session(engine) as session, session.begin():
        custom.definitions.create(Context(session, admin, lambda *a, **k: None, "r"), {
            "resource": "lead", "required": False, "default": None, "unique": False, "choices": [], **field})


def test_custom_fields_come_as_custom_columns_checked_like_the_api(engine, team, small_batches):
    admin = team["admin"]
    _define(engine, admin, name="segment", label="Segment", type="choice", choices=["smb", "enterprise"])
    _define(engine, admin, name="seats", label="Seats", type="number", default=1)
    _define(engine, admin, name="vat_id", label="VAT id", type="text", unique=True)
    _define(engine, admin, name="topics", label="Topics", type="multi_choice", choices=["crm", "erp", "bi"])
    csv_text = "\n".join([
        "last_name,email,custom.segment,custom.seats,custom.vat_id,custom.topics",
        "Ames,ames@x.example,enterprise,250,DE111,crm; bi",
        "Baker,baker@x.example,smb,,DE222,",
        "Cole,cole@x.example,giant,3,DE333,crm",       # not a choice
        "Dunn,dunn@x.example,smb,many,DE444,crm",      # not a number
        "Eve,eve@x.example,smb,2,DE111,erp",           # the VAT id of row 1 (another batch? no: the same file)
        "Fay,fay@x.example,enterprise,4,DE666,erp",
    ])
    with Session(engine) as session, session.begin():
        job = lead_imports.start(Context(session, admin, None, "req-9"), {"csv": csv_text})
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["processed"], done["succeeded"], done["failed"]) == (6, 3, 3)
    assert [(e["row"], sorted(e["errors"])) for e in done["errors"]] == [
        (3, ["custom.segment"]), (4, ["custom.seats"]), (5, ["custom.vat_id"])]
    leads_by_name = stored(engine)
    assert leads_by_name["Ames"].custom_fields == {"segment": "enterprise", "seats": 250, "vat_id": "DE111",
                                                   "topics": ["crm", "bi"]}
    assert leads_by_name["Baker"].custom_fields == {"segment": "smb", "seats": 1, "vat_id": "DE222"}  # the default
    assert sorted(leads_by_name) == ["Ames", "Baker", "Fay"]

    # a second import meets the stored values: the unique VAT id of an existing lead is refused
    again = run(engine, admin, [{"last_name": "Gale", "email": "gale@x.example", "custom.vat_id": "DE666"}])
    assert [(e["row"], sorted(e["errors"])) for e in again["errors"]] == [(1, ["custom.vat_id"])]


def test_an_unknown_custom_column_is_refused_before_the_job_starts(engine, team):
    with Session(engine) as session, session.begin():
        with pytest.raises(lead_imports.ServiceError) as refused:
            lead_imports.start(Context(session, team["admin"], None, "r"),
                               {"csv": "last_name,custom.nothing\nAmes,1\n"})
        assert refused.value.errors == {"custom.nothing": ["no such custom field"]}
        assert session.execute(select(func.count()).select_from(Base.metadata.tables[jobs.JOBS])).scalar() == 0
