"""The run log over runs that ended at their intake (skipped on their conditions, stopped by the loop guard), which
the intake writes one row per event for: filtered by workflow, outcome and record, paged in both orders, and read
by id, each as the run it is, mixed with the runs that acted and with skipped runs written as rows of their own
(as before), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import time_machine
from datetime import timedelta

from sqlalchemy import select

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


def test_a_run_that_acted_at_its_intake_reads_as_when_it_was_a_row_of_its_own(store, envelope, monkeypatch):
    """A run whose actions are all local (a notification) ends at its intake and is kept in its event's row of
    ended runs, not as a row of `workflow_runs`: the run log says the same of it as of such a row (here the same
    run of another event, written as a row: the intake as it was before), its id is given before it acts (its
    `{{ run.id }}` and its event carry it), it is filtered as succeeded and never replayed."""
    from sqlalchemy import select

    from crm_automation.domain import drafts
    from crm_automation.models import EndedRuns, Notification, WorkflowRun
    wf = store.tx(workflows.create, {
        "name": "told", "active": True, "trigger": {"type": "field_change", "resource": "lead", "field": "status"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": "Engines"}]},
        "actions": [{"type": "notify", "users": ["boss"], "title": "run {{ run.id }}: {{ record.company }}"}]})
    with time_machine.travel(clock.now(), tick=False):
        [kept] = store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "won"))
        with monkeypatch.context() as patched:
            patched.setattr(drafts.Trigger, "keep", lambda self, run: False)
            [row] = store.tx(intake.on_event, update(envelope, "lead-2", "Engines", "won"))
    assert store.tx(lambda ctx: (ctx.session.get(WorkflowRun, kept), ctx.session.get(WorkflowRun, row) is not None,
                                 ctx.session.get(EndedRuns, kept[:-4] + "0000") is not None)) == (None, True, True)
    dumped = {run_id: c.WorkflowRun().dump(store.tx(run_log.get, run_id)) for run_id in (kept, row)}
    same = ("id", "trigger_event_id", "record_id")
    for dump in dumped.values():  # a step's time spent is measured by the monotonic clock, not the frozen one
        assert all(0 <= step.pop("duration_ms") < 1000 for step in dump["steps"])
    assert {k: v for k, v in dumped[kept].items() if k not in same} == \
        {k: v for k, v in dumped[row].items() if k not in same}
    assert (dumped[kept]["status"], dumped[kept]["workflow_id"], dumped[kept]["log"]) == \
        ("succeeded", wf.id, ["conditions met", "done: 1 action(s)"])
    assert [s["status"] for s in dumped[kept]["steps"]] == ["succeeded"] and dumped[kept]["conditions_met"] is True
    titles = store.tx(lambda ctx: sorted(ctx.session.scalars(select(Notification.title))))
    assert titles == sorted([f"run {kept}: Engines", f"run {row}: Engines"])
    assert [e["id"] for e in store.events.of(c.WORKFLOW_RUN_FINISHED)] == [kept, row]
    page = store.tx(run_log.page, {"sort": "-created_at", "limit": 5, "status": "succeeded", "workflow_id": wf.id,
                                   "record_id": "lead-1"})
    assert [r.id for r in page["items"]] == [kept]
    assert store.tx(run_log.page, {"sort": "-created_at", "limit": 5, "status": "skipped"})["items"] == []
    for run_id in (kept, row):
        with pytest.raises(ServiceError) as refused:
            store.tx(run_log.replay, run_id)
        assert refused.value.code == "conflict"


def test_a_run_that_acted_at_its_intake_keeps_the_record_it_saw_and_its_previous_values_once(store, envelope):
    """An acted run's entry keeps the record as the run saw it and its previous values (what a privacy request
    exports and cuts), not the record a second time as the one it was triggered with (the same at the intake),
    nor the event, whose ids its row holds; read back, the run's context has the three records."""
    from crm_automation.models import EndedRuns
    define(store, "told")
    store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "new"))
    [run_id] = store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "won"))
    entry = store.tx(lambda ctx: ctx.session.get(EndedRuns, run_id[:-4] + "0000").runs[int(run_id[-4:], 16) - 1])
    record = {**LEAD, "status": "won", "changed_fields": ["status"]}
    assert entry[3]["context"] == {"record": record, "previous": LEAD}
    run = store.tx(run_log.get, run_id)
    assert (run.status, run.context) == ("succeeded", {"record": record, "trigger_record": record, "previous": LEAD})


def test_the_intake_writes_the_instant_of_the_event_in_any_session_time_zone(store, envelope, engine):
    """The intake's rows (the event's row of ended runs, a run that goes on, the notification) are written with
    their times bound once per instant (on PostgreSQL as ISO text): read back, each is the instant the event was
    taken, with the session's time zone far from UTC."""
    from sqlalchemy import event, text

    from crm_automation.models import EndedRuns, Notification, WorkflowRun
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", lambda conn, *_: conn.cursor().execute("SET TIME ZONE 'Pacific/Kiritimati'"))
    define(store, "told")
    store.tx(workflows.create, {"name": "remote", "active": True, "actions": [
        {"type": "update_record", "fields": {"rating": "hot"}}], "trigger": {
        "type": "field_change", "resource": "lead", "field": "status"}})
    at = clock.now().replace(microsecond=654321) - timedelta(days=3)  # not ahead: time-ordered ids stay monotonic
    with time_machine.travel(at, tick=False):
        store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "won"))
    times = store.tx(lambda ctx: [
        *ctx.session.execute(select(EndedRuns.created_at)).scalars(),
        *[t for row in ctx.session.execute(select(WorkflowRun.created_at, WorkflowRun.updated_at, WorkflowRun.due_at,
                                                  WorkflowRun.started_at)) for t in row],
        *[t for row in ctx.session.execute(select(Notification.created_at, Notification.updated_at)) for t in row]])
    assert len(times) == 7 and all(t == at for t in times)


def test_the_intakes_times_are_the_text_the_column_type_gives():
    """The intake's rows give a time in UTC from one isoformat as the text the column's type would give (on
    PostgreSQL then as ISO text): the same for every kind of time, microseconds 0 or not, another zone's or naive."""
    from datetime import datetime, timezone

    from sqlalchemy.dialects import postgresql, sqlite

    from crm_automation.domain.drafts import _Instant
    from crm_common.types import UTCDateTime
    instants = [clock.now(), datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(999, 1, 2, 3, 4, 5, 6, timezone.utc),
                datetime(2026, 3, 1, 1, 2, 3, 4, timezone(timedelta(hours=14))), datetime(2026, 3, 1, 1, 2, 3), None]
    for dialect in (sqlite.dialect(), postgresql.psycopg2.dialect()):
        typed = UTCDateTime()._cached_bind_processor(dialect) or (lambda t: t)
        text = (lambda t: t if t is None else t.isoformat()) if dialect.name == "postgresql" else (lambda t: t)
        written = _Instant()._cached_bind_processor(dialect)
        assert [written(t) for t in instants] == [text(typed(t)) for t in instants]
    assert written(instants[1]) == "2026-03-01T00:00:00+00:00"
    assert _Instant()._cached_bind_processor(sqlite.dialect())(instants[1]) == "2026-03-01 00:00:00.000000"


def test_a_run_that_goes_on_after_its_intake_is_a_row_with_the_id_of_its_place(store, envelope, bus):
    """An event's runs: one notifies (kept in the event's row), one has a remote action next (a row of
    `workflow_runs` for the executor, its id a place of the event's row, which stays empty), one is skipped. The
    run log lists the three, each read by its id; the remote one is executed as every queued run."""
    from crm_automation.domain import executor
    from crm_automation.models import EndedRuns
    told = define(store, "told")
    remote = store.tx(workflows.create, {"name": "remote", "active": True, "trigger": {
        "type": "field_change", "resource": "lead", "field": "status"},
        "actions": [{"type": "update_record", "fields": {"rating": "hot"}}]})
    never = define(store, "never", "X")
    ids = store.tx(intake.on_event, update(envelope, "lead-1", "Engines", "won"))
    assert len(ids) == 3 and len({run_id[:-4] for run_id in ids}) == 1
    assert [run_id[-4:] for run_id in ids] == ["0001", "0002", "0003"]
    row = store.tx(lambda ctx: ctx.session.get(EndedRuns, ids[0][:-4] + "0000"))
    assert row.status == "skipped succeeded" and row.runs[1] is None and row.workflow_ids == f" {told.id} {never.id} "
    listed = lambda: {r.id: (r.workflow_id, r.status) for r in  # noqa: E731
                      store.tx(run_log.page, {"sort": "created_at", "limit": 10})["items"]}
    assert listed() == {ids[0]: (told.id, "succeeded"), ids[1]: (remote.id, "queued"), ids[2]: (never.id, "skipped")}
    executor.sweep(store.tx, bus)
    assert [call[1] for call in bus.calls] == ["update_lead"]
    assert listed()[ids[1]] == (remote.id, "succeeded")
    assert [r.id for r in store.tx(run_log.page, {"sort": "created_at", "limit": 10, "status": "succeeded"})["items"]] \
        == ids[:2]
    assert [store.tx(run_log.get, run_id).workflow_id for run_id in ids] == [told.id, remote.id, never.id]
