"""The run log over runs that ended at their intake (skipped on their conditions, stopped by the loop guard), which
the intake writes one row per event for: filtered by workflow, outcome and record, paged in both orders, and read
by id, each as the run it is, mixed with the runs that acted and with skipped runs written as rows of their own
(as before), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import time_machine
from datetime import timedelta

from crm_common.errors import ServiceError
from crm_automation import clock
from crm_automation.domain import engine as intake, runs as run_log, workflows
from crm_automation_contracts import workflows as c

LEAD = {"id": "lead-1", "company": "Engines", "status": "new", "owner_id": "rep-1"}


@pytest.fixture
def engine(backend_engine):
    return backend_engine


def define(store, name, company=None):
    conditions = {"all": [{"field": "company", "op": "eq", "value": company}]} if company else None
    return store.tx(workflows.create, {"name": name, "active": True, "conditions": conditions,
                                       "trigger": {"type": "field_change", "resource": "lead", "field": "status"},
                                       "actions": [{"type": "notify", "users": ["boss"], "title": name}]})


def update(envelope, lead_id, company, status):
    return envelope("sales.lead_updated.v1", {**LEAD, "id": lead_id, "company": company, "status": status,
                                              "changed_fields": ["status"]}, "lead", "update")


def everything(store, query_=None, workflow_id=None, limit=3, sort="-created_at"):
    """Every page of a listing, followed by its cursor (checking that no run comes twice)."""
    query = {"sort": sort, "limit": limit, **(query_ or {})}
    found, cursor = [], None
    while True:
        page = (store.tx(run_log.of_workflow, workflow_id, {**query, "cursor": cursor}) if workflow_id else
                store.tx(run_log.page, {**query, "cursor": cursor}))
        found += [(r.id, r.workflow_id, r.status, r.record_id) for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            assert len({f[0] for f in found}) == len(found)
            return found


@pytest.fixture
def history(store, envelope):
    """Three workflows on a lead's status: `always` acts on every event; `engines` on the Engines company's leads
    (skipped on the others); `never` is always skipped. Six events over two leads, two runs of them in the same
    instant, then one skipped run written as a row of workflow_runs (as the intake wrote skipped runs before)."""
    always, engines, never = define(store, "always"), define(store, "engines", "Engines"), define(store, "never", "X")
    made = []  # (instant, run id, workflow id, status, record id)
    events = [update(envelope, "lead-1", "Engines", "working"), update(envelope, "lead-2", "Other", "working"),
              update(envelope, "lead-1", "Engines", "won"), update(envelope, "lead-2", "Other", "lost"),
              update(envelope, "lead-1", "Other", "new"), update(envelope, "lead-2", "Engines", "new")]
    instant = 0
    with time_machine.travel(clock.now(), tick=False) as traveller:
        for n, event in enumerate(events):
            if n != 3:  # the fourth event in the same instant as the third
                traveller.shift(timedelta(seconds=1))
                instant += 1
            ids = store.tx(intake.on_event, event)
            company, record = event["data"]["company"], event["data"]["id"]
            statuses = ["succeeded", "succeeded" if company == "Engines" else "skipped", "skipped"]
            made += [(instant, run_id, wf.id, status, record) for run_id, wf, status in
                     zip(ids, (always, engines, never), statuses)]
        traveller.shift(timedelta(seconds=1))
        old = intake.new_run(never, {"record": {}}, "event-before", "sales.lead_updated.v1", "lead", "lead-3", 0)
        old.status, old.conditions_met, old.log = "skipped", False, ["conditions not met: company eq 'X'"]
        old.finished_at, old.duration_ms = old.started_at, 0

        def add(ctx):
            ctx.session.add(old)
            ctx.session.flush()
            return old.id
        made.append((instant + 1, store.tx(add), never.id, "skipped", "lead-3"))
    # the run log's order: by time, then id (the runs of one instant, in the order of their ids)
    return {"always": always, "engines": engines, "never": never, "made": [m[1:] for m in sorted(made)]}


def newest_first(made, **where):
    return [m for m in reversed(made) if all(m[("id", "workflow_id", "status", "record_id").index(k)] == v
                                             for k, v in where.items())]


def test_filters_by_workflow_outcome_and_record_read_the_ended_runs_too(store, history):
    made, never, engines = history["made"], history["never"], history["engines"]
    assert everything(store) == list(reversed(made))
    assert everything(store, workflow_id=never.id) == newest_first(made, workflow_id=never.id)
    assert everything(store, {"workflow_id": engines.id}) == newest_first(made, workflow_id=engines.id)
    assert everything(store, {"status": "skipped"}) == newest_first(made, status="skipped")
    assert everything(store, {"status": "succeeded"}) == newest_first(made, status="succeeded")
    assert everything(store, {"status": "stopped"}) == []
    assert everything(store, {"record_id": "lead-2"}) == newest_first(made, record_id="lead-2")
    assert everything(store, {"status": "skipped", "record_id": "lead-1"}, workflow_id=engines.id) == \
        newest_first(made, workflow_id=engines.id, status="skipped", record_id="lead-1")
    assert len(newest_first(made, workflow_id=engines.id, status="skipped", record_id="lead-1")) == 1
    # a workflow id is matched whole: a part of one, or one with LIKE's wildcards, finds nothing
    assert everything(store, {"workflow_id": never.id[:8]}) == []
    assert everything(store, {"workflow_id": "%"}) == []


@pytest.mark.parametrize("limit", [1, 2, 5, 200])
def test_pages_in_either_order_list_every_run_once_in_order(store, history, limit):
    made = history["made"]
    assert everything(store, limit=limit) == list(reversed(made))
    assert everything(store, limit=limit, sort="created_at") == made
    never = history["never"].id
    assert everything(store, {"status": "skipped"}, workflow_id=never, limit=limit, sort="created_at") == \
        [m for m in made if m[1] == never]


def test_an_ended_run_is_read_by_its_id_and_is_never_replayed(store, history):
    made = history["made"]
    for run_id, workflow_id, status, record_id in made:
        run = store.tx(run_log.get, run_id)
        dumped = c.WorkflowRun().dump(run)
        assert (dumped["id"], dumped["workflow_id"], dumped["status"], dumped["record_id"]) == \
            (run_id, workflow_id, status, record_id)
        if status == "skipped":
            assert dumped["conditions_met"] is False and dumped["steps"] == [] and dumped["duration_ms"] == 0
            assert dumped["log"][-1].startswith("conditions not met: company eq")
            with pytest.raises(ServiceError) as refused:
                store.tx(run_log.replay, run_id)
            assert refused.value.code == "conflict"
    ended = next(m[0] for m in made if m[2] == "skipped" and m[1] == history["never"].id)
    for unknown in (ended[:-4] + "0000", ended[:-4] + "00ff", ended[:-4] + "zzzz", "not-a-run", ended.upper()):
        with pytest.raises(ServiceError) as missing:
            store.tx(run_log.get, unknown)
        assert missing.value.code == "not_found"


def test_an_event_that_ends_more_runs_than_a_row_holds_takes_more_rows(store, envelope, monkeypatch):
    from sqlalchemy import func, select

    from crm_automation.domain import ended
    from crm_automation.models import EndedRuns
    monkeypatch.setattr(ended, "PER_ROW", 2)
    skipping = [define(store, f"never {n}", "X") for n in range(5)]
    ids = store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "won"))
    assert len(set(ids)) == 5
    assert store.tx(lambda ctx: ctx.session.scalar(select(func.count()).select_from(EndedRuns))) == 3
    assert [store.tx(run_log.get, run_id).workflow_id for run_id in ids] == [wf.id for wf in skipping]
    listed = everything(store, {"status": "skipped"}, limit=2, sort="created_at")
    assert sorted(r[0] for r in listed) == sorted(ids) and [r[0] for r in listed] == sorted(r[0] for r in listed)
