"""Bulk exports without a broker: the list is read as the caller who asked, page after page, into parts of
one file (NDJSON or CSV with formulas guarded); a role that may not read the list is refused with nothing
queued; only the owner reads the export; finished exports are forgotten after the retention."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crm_integration_contracts as c
from crm_common import jobs
from crm_common.context import Context
from crm_common.db import make_engine, utcnow
from crm_common.errors import ServiceError
from crm_integration.domain import exports
from crm_integration.models import Base, ExportPart

from .conftest import actor

SOURCE = {"service": "sales", "method": "list_leads", "permission": ["lead", "read"],
          "columns": ["id", "last_name", "tags"]}
LEADS = [{"id": f"L{i}", "last_name": name, "tags": ["a"], "extra": i}
         for i, name in enumerate(["Ada", "=CMD()", "Grace", "Linus", "Barbara"])]


class FakeLists:
    """The list as a service would page it (2 rows a page); remembers who asked each page."""

    def __init__(self):
        self.asked = []

    def call(self, service, method, query, actor, request_id):
        self.asked.append((service, method, query, actor.user_id, tuple(actor.roles)))
        start = int(query.get("cursor") or 0)
        rows = LEADS[start:start + 2]
        return {"items": rows, "next_cursor": str(start + 2) if start + 2 < len(LEADS) else None}


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'integration.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def lists(monkeypatch):
    fake = FakeLists()
    monkeypatch.setattr(exports, "LISTS", fake)
    return fake


def call(engine, caller, fn, *args):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return fn(Context(session, caller, lambda *a, **k: None, "req-9"), *args)


def ask(engine, caller, fmt="ndjson", filters=None):
    body = c.exports.StartExport().load({"resource": "leads", "format": fmt, "filters": filters or {"status": "new"},
                                         "source": SOURCE})
    return call(engine, caller, exports.start, body)


def file_of(engine, caller, job_id):
    text, part = "", 0
    while part is not None:
        chunk = call(engine, caller, exports.part, job_id, {"part": part})
        text, part = text + chunk["data"], chunk["next_part"]
    return text


def test_the_list_is_read_as_the_caller_page_after_page_into_one_file(engine, lists):
    rep = actor("sales_rep", "u-rep", team_id="t1")
    job = ask(engine, rep)
    assert (job["status"], job["owner_id"], job["kind"]) == ("queued", "u-rep", "export")
    done = jobs.run(engine, Base.metadata, job["id"], exports.run)
    assert (done["status"], done["processed"], done["total"]) == ("done", 5, 5)
    assert done["result"] == {"resource": "leads", "format": "ndjson", "rows": 5, "parts": 3,
                              "media_type": "application/x-ndjson"}
    # every page as the rep (their grants: the list applies their scope), their filters, the largest page
    assert [a[:2] for a in lists.asked] == [("sales", "list_leads")] * 3
    assert {(a[3], a[4]) for a in lists.asked} == {("u-rep", ("sales_rep",))}
    assert [a[2] for a in lists.asked] == [{"status": "new", "limit": 200}, {"status": "new", "limit": 200, "cursor": "2"},
                                           {"status": "new", "limit": 200, "cursor": "4"}]
    assert [json.loads(line) for line in file_of(engine, rep, job["id"]).splitlines()] == LEADS


def test_csv_has_the_lists_columns_and_no_formula_runs(engine, lists):
    admin = actor("admin", "u-admin")
    job = ask(engine, admin, fmt="csv")
    jobs.run(engine, Base.metadata, job["id"], exports.run)
    rows = list(csv.reader(io.StringIO(file_of(engine, admin, job["id"]))))
    assert rows == [["id", "last_name", "tags"], ["L0", "Ada", '["a"]'], ["L1", "'=CMD()", '["a"]'],
                    ["L2", "Grace", '["a"]'], ["L3", "Linus", '["a"]'], ["L4", "Barbara", '["a"]']]


def test_a_role_that_may_not_read_the_list_is_refused_and_nothing_is_queued(engine, lists):
    with pytest.raises(ServiceError) as refused:
        ask(engine, actor("support_agent", "u-agent"))
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as paged:
        ask(engine, actor("admin", "u-admin"), filters={"cursor": "abc"})
    assert paged.value.code == "validation_failed" and "filters.cursor" in paged.value.errors
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Base.metadata.tables[jobs.JOBS])) == 0
    assert lists.asked == []


def test_only_its_owner_or_an_admin_reads_an_export_and_only_once_done(engine, lists):
    rep = actor("sales_rep", "u-rep")
    job = ask(engine, rep)
    with pytest.raises(ServiceError) as early:
        call(engine, rep, exports.part, job["id"], {"part": 0})
    assert early.value.code == "conflict"
    jobs.run(engine, Base.metadata, job["id"], exports.run)
    for stranger in (actor("sales_rep", "u-other"), actor("sales_manager", "u-boss")):
        for fn, args in ((exports.get, ()), (exports.part, ({"part": 0},))):
            with pytest.raises(ServiceError) as hidden:
                call(engine, stranger, fn, job["id"], *args)
            assert hidden.value.code == "not_found"
    assert call(engine, actor("admin", "u-admin"), exports.get, job["id"])["status"] == "done"


def test_finished_exports_are_forgotten_after_the_retention(engine, lists):
    rep = actor("sales_rep", "u-rep")
    for job in (ask(engine, rep), ask(engine, rep)):
        jobs.run(engine, Base.metadata, job["id"], exports.run)
    with Session(engine) as session, session.begin():
        assert exports.prune(session, hours=24, now=utcnow() + timedelta(hours=1)) == 0
        assert exports.prune(session, hours=24, now=utcnow() + timedelta(hours=25)) == 2
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ExportPart)) == 0
