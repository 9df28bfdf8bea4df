"""Bulk upserts by external id (NDJSON as a job): idempotent re-runs, per-row errors by line, progress."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_common import jobs
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
from crm_sales.domain import external_id_bulk
from crm_sales.models import Account, Base, ExternalId


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(external_id_bulk, "BATCH", 3)


def ndjson(rows) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n"


def run(engine, actor, text, system="erp"):
    with Session(engine) as session, session.begin():
        job = external_id_bulk.start_accounts(Context(session, actor, None, "req-1"), {"ndjson": text}, system)
    assert job["status"] == "queued"
    return jobs.run(engine, Base.metadata, job["id"], external_id_bulk.run)


def accounts(engine) -> dict:
    with Session(engine) as session:
        return {a.name: a for a in session.scalars(select(Account))}


def test_the_same_file_twice_ends_with_one_account_each(engine, team, small_batches):
    text = ndjson({"external_id": f"K-{n}", "name": f"Acme {n}", "industry": "retail"} for n in range(7))
    first = run(engine, team["admin"], text)
    assert (first["status"], first["processed"], first["succeeded"], first["failed"]) == ("done", 7, 7, 0)
    assert first["result"]["created"] == 7
    before = {name: (a.id, a.version) for name, a in accounts(engine).items()}
    again = run(engine, team["admin"], text)
    assert (again["succeeded"], again["result"]["created"]) == (7, 0)
    assert {name: (a.id, a.version) for name, a in accounts(engine).items()} == before  # nothing changed
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ExternalId)) == 7


def test_a_changed_line_updates_its_record(engine, team, small_batches):
    run(engine, team["admin"], ndjson([{"external_id": "K-1", "name": "Acme", "industry": "retail"}]))
    run(engine, team["admin"], ndjson([{"external_id": "K-1", "name": "Acme", "industry": "banking"}]))
    assert accounts(engine)["Acme"].industry == "banking" and len(accounts(engine)) == 1


def test_bad_lines_are_reported_by_row_and_field_and_the_rest_go_on(engine, team, small_batches):
    text = ndjson([{"external_id": "K-1", "name": "One"},
                   "{not json",                                        # row 2
                   {"name": "No key"},                                 # row 3
                   "",                                                 # a blank line is skipped (row 4)
                   {"external_id": "K-5", "name": "Five", "employees": "many"},  # row 5
                   {"external_id": "K-6", "name": "Six", "colour": "red"},       # row 6: unknown field
                   {"external_id": "K-7", "name": "Seven"}])
    done = run(engine, team["admin"], text)
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == ("done", 6, 2, 4)
    assert [(e["row"], e["field"]) for e in done["errors"]] == [(2, "line"), (3, "external_id"),
                                                                (5, "employees"), (6, "colour")]
    assert all(e["message"] for e in done["errors"])
    assert sorted(accounts(engine)) == ["One", "Seven"]


def test_a_role_that_may_not_update_gets_row_errors_for_linked_records(engine, team):
    run(engine, team["admin"], ndjson([{"external_id": "K-1", "name": "Acme"}]))
    done = run(engine, team["marketer"], ndjson([{"external_id": "K-1", "name": "Acme 2"}]))
    assert done["failed"] == 1 and done["errors"][0]["row"] == 1 and done["errors"][0]["code"] == "forbidden"
    assert sorted(accounts(engine)) == ["Acme"]


def test_an_empty_file_or_a_bad_system_is_refused_before_any_job(engine, team):
    with Session(engine) as session, session.begin():
        ctx = Context(session, team["admin"], None, None)
        with pytest.raises(ServiceError) as empty:
            external_id_bulk.start_accounts(ctx, {"ndjson": "\n  \n"}, "erp")
        assert "ndjson" in empty.value.errors
        with pytest.raises(ServiceError) as bad:
            external_id_bulk.start_accounts(ctx, {"ndjson": ndjson([{"external_id": "x"}])}, "bad system!")
        assert "system" in bad.value.errors


def test_the_job_is_seen_by_its_owner_for_its_resource_only(engine, team):
    done = run(engine, team["r1"], ndjson([{"external_id": "K-1", "name": "Mine"}]))
    with Session(engine) as session:
        assert external_id_bulk.get_accounts(Context(session, team["r1"], None), done["id"], "erp")["id"] == done["id"]
        for actor, getter, system in ((team["r2"], external_id_bulk.get_accounts, "erp"),
                                      (team["r1"], external_id_bulk.get_contacts, "erp")):
            with pytest.raises(ServiceError) as missing:
                getter(Context(session, actor, None), done["id"], system)
            assert missing.value.code == "not_found"


def test_a_job_asked_for_under_a_system_name_the_contract_refuses_is_a_422(engine, team):
    """The fuzzer asked for a job under the system `\\x84` (outside the documented pattern) and got it."""
    done = run(engine, team["r1"], ndjson([{"external_id": "K-1", "name": "Mine"}]))
    with Session(engine) as session:
        with pytest.raises(ServiceError) as refused:
            external_id_bulk.get_accounts(Context(session, team["r1"], None), done["id"], "\x84")
        assert refused.value.code == "validation_failed" and "system" in refused.value.errors
