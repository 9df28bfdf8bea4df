from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import jobs, tables
from crm_common.db import utcnow
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
from crm_sales.domain import lead_imports, territories
from crm_sales.models import Base, Lead

CSV = """first_name,last_name,company,email,phone,country
Ada,Lovelace,Engines,ada@engines.example,+44 20 7946 0958,GB
Bad,Email,Nope,not-an-email,,GB
Ada,Again,Other,ADA@engines.example,,GB
Alan,Turing,Bletchley,alan@bp.example,,gb
"""


def queue(engine, who, data):
    with Session(engine) as session, session.begin():
        return lead_imports.start(Context(session, who, None, "req-1"), data)


def test_csv_import_reports_progress_errors_and_links_duplicates(engine, team, events):
    with Session(engine) as session, session.begin():
        admin = Context(session, team["admin"], events)  # this session commits: the job's connections see it
        territories.create(admin, {"name": "UK", "countries": ["GB"], "member_ids": ["r1", "r2"]})
    job = queue(engine, team["marketer"], {"csv": CSV, "force": True})
    assert (job["status"], job["total"], job["processed"]) == ("queued", 4, 0)
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == ("done", 4, 3, 1)
    assert done["errors"] == [{"row": 2, "errors": {"email": [done["errors"][0]["errors"]["email"][0]]}}]
    assert done["result"]["linked_duplicates"] == 1
    with Session(engine) as session:
        rows = {lead.last_name: lead for lead in session.execute(select(Lead)).scalars()}
        assert rows["Again"].duplicate_of_id == rows["Lovelace"].id
        assert rows["Lovelace"].phone == "+442079460958"
        assert {lead.owner_id for lead in rows.values()} <= {"r1", "r2"}  # the territory's members, balanced
        assert sorted(lead.owner_id for lead in rows.values()).count("r1") in (1, 2)
        outbox = session.execute(select(Base.metadata.tables[tables.OUTBOX].c.envelope)).scalars().all()
    assert [e["type"] for e in outbox] == ["sales.leads_imported.v1"]  # one event for the batch, none per lead
    assert sorted(outbox[0]["data"]["ids"]) == sorted(lead.id for lead in rows.values())


def test_without_force_duplicates_are_skipped(engine, team):
    job = queue(engine, team["admin"], {"rows": [{"last_name": "A", "email": "a@x.example"},
                                                 {"last_name": "B", "email": "a@x.example"}], "force": False})
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["succeeded"], done["failed"]) == (1, 1)
    assert "duplicate" in done["errors"][0]["errors"]


def test_unknown_columns_are_refused_before_the_job(engine, team):
    with pytest.raises(ServiceError) as bad:
        queue(engine, team["admin"], {"csv": "name,email\nx,y@z.example\n"})
    assert bad.value.code == "validation_failed" and "csv" in bad.value.errors


def test_a_resumed_job_does_not_import_twice(engine, team):
    rows = [{"last_name": f"L{i}", "email": f"l{i}@x.example"} for i in range(5)]
    job = queue(engine, team["admin"], {"rows": rows})
    table = Base.metadata.tables[jobs.JOBS]
    with engine.begin() as conn:  # a runner committed 2 rows and is still alive: its job is left alone
        conn.execute(table.update().values(status="running", processed=2, succeeded=2))
    with Session(engine) as session, session.begin():
        for row in rows[:2]:
            session.add(Lead(last_name=row["last_name"], email=row["email"], source="import", status="new"))
    assert jobs.run(engine, Base.metadata, job["id"], lead_imports.run)["processed"] == 2
    with engine.begin() as conn:  # ... until its lease ran out (the process died): then it is resumed
        conn.execute(table.update().values(updated_at=utcnow() - jobs.LEASE - timedelta(seconds=1)))
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["status"], done["processed"], done["succeeded"]) == ("done", 5, 5)
    with Session(engine) as session:
        assert session.query(Lead).count() == 5


def test_others_cannot_see_an_import(engine, team):
    job = queue(engine, team["r1"], {"rows": [{"last_name": "A"}]})
    with Session(engine) as session:
        assert lead_imports.get(Context(session, team["r1"], None), job["id"])["id"] == job["id"]
        with pytest.raises(ServiceError) as hidden:
            lead_imports.get(Context(session, team["r2"], None), job["id"])
    assert hidden.value.code == "not_found"


def test_rows_with_too_long_or_malformed_values_are_reported_not_fatal(engine, team):
    job = queue(engine, team["admin"], {"rows": [{"last_name": "x" * 101}, {"last_name": "Ok", "country": "Germany"},
                                                 {"last_name": "Fine", "score": 7, "country": "de"}]})
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["status"], done["succeeded"], done["failed"]) == ("done", 1, 2)
    assert [set(e["errors"]) for e in done["errors"]] == [{"last_name"}, {"country"}]


def test_a_csv_job_counts_what_it_imports_blank_lines_aside(engine, team):
    text = CSV.replace("\nBad,", "\n\nBad,") + "\n\n"
    job = queue(engine, team["admin"], {"csv": text, "force": True})
    assert job["total"] == 4
    done = jobs.run(engine, Base.metadata, job["id"], lead_imports.run)
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == ("done", 4, 3, 1)
    assert done["errors"][0]["row"] == 2


def test_an_unreadable_csv_is_refused_before_the_job(engine, team):
    with pytest.raises(ServiceError) as refused:
        # the csv module's field limit (128 KB): past it the file cannot be read
        queue(engine, team["admin"], {"csv": "last_name,email\nA,a@x.example\n\"" + "B" * 200_000 + "\",b@x.example\n"})
    assert refused.value.code == "validation_failed" and "csv" in refused.value.errors
