"""Workflows from trigger to run log: field changes, conditions, actions through the owner's RPC, retries then
a parked run replayed from its failed step, the loop guard, waits (time-machine) and a worker that died."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm_common.errors import ServiceError
from crm_automation import clock
from crm_automation.domain import bus as buses, engine, executor, runs, workflows
from crm_automation.models import Notification, WorkflowRun
from crm_automation_contracts import workflows as c

LEAD = {"id": "lead-1", "first_name": "Ada", "last_name": "Lovelace", "company": "Engines", "status": "new",
        "owner_id": "rep-1", "country": "DE"}


def define(store, **body):
    body = {"name": "wf", "active": True, **body}
    return store.tx(workflows.create, body)


def deliver(store, env) -> list[str]:
    return store.tx(engine.on_event, env)


def run_of(store, run_id):
    return store.tx(runs.get, run_id)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("CRM_AUTOMATION_RETRY_DELAYS", "1,1")


def test_a_field_change_to_a_value_runs_update_task_and_notify(store, bus, events, envelope):
    define(store, trigger={"type": "field_change", "resource": "lead", "field": "status", "to": "qualified"},
           conditions={"all": [{"field": "country", "op": "in", "value": ["DE", "AT"]}]},
           actions=[{"type": "update_record", "fields": {"rating": "hot"}},
                    {"type": "create_task", "subject": "Call {{ record.first_name }}", "due_in_days": 1},
                    {"type": "notify", "to_owner": True, "title": "{{ record.company }} is qualified"}])
    assert deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create")) == []  # status is new
    ids = deliver(store, envelope("sales.lead_updated.v1", {**LEAD, "status": "qualified", "changed_fields": ["status"]},
                                  "lead", "update"))
    assert len(ids) == 1
    executor.sweep(store.tx, bus)
    done = run_of(store, ids[0])
    assert done.status == "succeeded", (done.log, done.steps)
    assert [s["status"] for s in done.steps] == ["succeeded"] * 3
    assert done.conditions == [{"field": "country", "op": "in", "value": ["DE", "AT"], "actual": "DE", "result": True}]
    update, task = bus.calls
    assert update[:4] == ("sales", "update_lead", {"rating": "hot"}, "lead-1")
    assert buses.depth_of(update[4]) == 1  # the change it makes carries the chain depth
    assert task[1] == "create_activity" and task[2]["subject"] == "Call Ada" and task[2]["lead_id"] == "lead-1"
    assert task[2]["owner_id"] == "rep-1"
    note = store.tx(lambda ctx: ctx.session.scalars(select(Notification)).one())
    assert (note.user_id, note.title, note.kind) == ("rep-1", "Engines is qualified", "workflow")
    assert events.of(c.WORKFLOW_RUN_FINISHED)[-1]["status"] == "succeeded"


def test_changed_from_a_value_uses_what_was_seen_before(store, bus, envelope):
    define(store, trigger={"type": "field_change", "resource": "lead", "field": "status", "from": "new",
                           "to": "working"}, actions=[{"type": "notify", "users": ["boss"], "title": "moved"}])
    deliver(store, envelope("sales.lead_created.v1", {**LEAD, "status": "open"}, "lead", "create"))
    assert deliver(store, envelope("sales.lead_updated.v1", {**LEAD, "status": "working", "changed_fields": ["status"]},
                                   "lead", "update")) == []  # it came from open, not new
    deliver(store, envelope("sales.lead_updated.v1", {**LEAD, "status": "new", "changed_fields": ["status"]},
                            "lead", "update"))
    assert len(deliver(store, envelope("sales.lead_updated.v1", {**LEAD, "status": "working",
                                                                   "changed_fields": ["status"]}, "lead", "update"))) == 1


def test_conditions_not_met_say_why_in_the_run_log(store, bus, envelope):
    wf = define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
                conditions={"all": [{"field": "country", "op": "eq", "value": "FR"}]},
                actions=[{"type": "update_record", "fields": {"status": "working"}}])
    [run_id] = deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create"))
    executor.sweep(store.tx, bus)
    run = run_of(store, run_id)
    assert run.status == "skipped" and bus.calls == []
    assert "country eq 'FR' (was 'DE')" in run.log[-1]
    page = store.tx(runs.of_workflow, wf.id, {"sort": "-created_at", "limit": 10, "status": "skipped"})
    assert [r.id for r in page["items"]] == [run_id]


def test_a_failing_action_is_retried_then_parked_and_replayed_from_that_step(store, bus, envelope):
    define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "notify", "users": ["u1"], "title": "first"},
                    {"type": "update_record", "fields": {"status": "working"}}])
    [run_id] = deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create"))
    bus.failing["update_lead"] = 3
    with time_machine.travel(clock.now(), tick=False) as traveller:
        executor.sweep(store.tx, bus)
        assert run_of(store, run_id).status == "queued"  # retrying after 1 s
        for _ in range(2):
            traveller.shift(timedelta(seconds=2))
            executor.sweep(store.tx, bus)
    run = run_of(store, run_id)
    assert run.status == "failed" and "refused by the owner" in run.error
    assert run.steps[1]["status"] == "failed" and run.steps[1]["attempts"] == 3
    assert "parked for replay" in run.log[-1]
    store.tx(runs.replay, run_id)
    executor.sweep(store.tx, bus)
    run = run_of(store, run_id)
    assert run.status == "succeeded"
    notes = store.tx(lambda ctx: ctx.session.scalars(select(Notification)).all())
    assert len(notes) == 1  # the notify step before the failure did not run again
    with pytest.raises(ServiceError) as refused:
        store.tx(runs.replay, run_id)
    assert refused.value.code == "conflict"


def test_a_loop_stops_past_depth_five_and_says_so(store, bus, envelope):
    wf = define(store, trigger={"type": "field_change", "resource": "lead", "field": "status"},
                actions=[{"type": "update_record", "fields": {"status": "working"}}])
    depth = 0
    for _ in range(7):
        env = envelope("sales.lead_updated.v1", {**LEAD, "changed_fields": ["status"]}, "lead", "update",
                       request_id=buses.request_id(depth, "x") if depth else None)
        deliver(store, env)
        executor.sweep(store.tx, bus)
        if bus.calls:
            depth = buses.depth_of(bus.calls[-1][4])
    page = store.tx(runs.of_workflow, wf.id, {"sort": "-created_at", "limit": 20})
    statuses = [r.status for r in reversed(page["items"])]
    assert statuses == ["succeeded"] * 6 + ["stopped"]
    assert "loop guard" in page["items"][0].log[0] and "more than 5" in page["items"][0].log[0]


def test_a_wait_sleeps_then_rechecks_the_record(store, bus, envelope):
    define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
           conditions={"all": [{"field": "status", "op": "eq", "value": "new"}]},
           actions=[{"type": "wait", "days": 3}, {"type": "notify", "to_owner": True, "title": "still new"}])
    [first] = deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create"))
    [second] = deliver(store, envelope("sales.lead_created.v1", {**LEAD, "id": "lead-2"}, "lead", "create"))
    bus.records["lead-2"] = {"status": "working"}  # someone works on the second meanwhile
    with time_machine.travel(clock.now(), tick=False) as traveller:
        executor.sweep(store.tx, bus)
        assert run_of(store, first).status == "waiting"
        traveller.shift(timedelta(days=2))
        assert executor.sweep(store.tx, bus) == 0
        traveller.shift(timedelta(days=1, seconds=1))
        executor.sweep(store.tx, bus)
    assert run_of(store, first).status == "succeeded"
    skipped = run_of(store, second)
    assert skipped.status == "skipped" and skipped.log[-1].startswith("conditions no longer met after the wait")


def test_a_run_left_by_a_killed_worker_is_resumed_once_its_lease_expires(store, bus, envelope):
    define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "update_record", "fields": {"status": "working"}}])
    [run_id] = deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create"))
    assert store.tx(executor.claim, run_id, "dead-worker")  # it claimed the run, then SIGKILL
    assert executor.sweep(store.tx, bus) == 0 and run_of(store, run_id).status == "queued"
    with time_machine.travel(clock.now() + timedelta(seconds=executor.LEASE_SECONDS + 1), tick=False):
        executor.sweep(store.tx, bus)
    assert run_of(store, run_id).status == "succeeded"


def test_assign_takes_people_in_turn_and_tells_them(store, bus, envelope):
    define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "assign", "users": ["a", "b"]}, {"type": "create_task", "subject": "Follow up"}])
    for n in range(3):
        deliver(store, envelope("sales.lead_created.v1", {**LEAD, "id": f"lead-{n}"}, "lead", "create"))
    executor.sweep(store.tx, bus)
    assert [call[2] for call in bus.calls if call[1] == "update_lead"] == [
        {"owner_id": "a"}, {"owner_id": "b"}, {"owner_id": "a"}]
    # the task of each goes to its new owner
    assert [call[2]["owner_id"] for call in bus.calls if call[1] == "create_activity"] == ["a", "b", "a"]
    kinds = store.tx(lambda ctx: sorted((n.user_id, n.kind) for n in ctx.session.scalars(select(Notification))))
    assert kinds == [("a", "assignment"), ("a", "assignment"), ("b", "assignment")]


def test_a_bad_definition_is_a_422_naming_the_field(store):
    with pytest.raises(ServiceError) as bad:
        define(store, trigger={"type": "field_change", "resource": "spaceship", "field": "x"},
               actions=[{"type": "update_record"}, {"type": "fly"}, {"type": "wait", "weeks": 1}])
    assert bad.value.code == "validation_failed"
    assert {"trigger.resource", "actions.0.fields", "actions.1.type", "actions.2"} <= set(bad.value.errors)


def test_a_schedule_runs_once_per_time(store, bus):
    with time_machine.travel("2026-12-04 08:59:30+00:00", tick=False) as traveller:
        wf = define(store, trigger={"type": "schedule", "cron": "0 9 * * *", "timezone": "UTC"},
                    actions=[{"type": "notify", "users": ["ops"], "title": "daily check"}])
        assert store.tx(engine.fire_schedules) == 0
        traveller.shift(timedelta(seconds=31))
        assert store.tx(engine.fire_schedules) == 1
        assert store.tx(engine.fire_schedules) == 0
        executor.sweep(store.tx, bus)
    page = store.tx(runs.of_workflow, wf.id, {"sort": "-created_at", "limit": 5})
    assert [(r.trigger_type, r.status) for r in page["items"]] == [("schedule", "succeeded")]


def test_a_definition_changed_elsewhere_is_seen_at_the_next_event_and_an_unheard_event_writes_nothing(
        store, bus, envelope):
    """The intake keeps its compiled workflows while their generation token stays; a change made by another
    replica (here: the table written directly, and the token moved as workflows.update moves it) is seen at the
    very next event. An event nobody listens to leaves no row behind (no run, no snapshot)."""
    from sqlalchemy import func, update

    from crm_automation.models import EndedRuns, RecordSnapshot, Workflow
    wf = define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
                actions=[{"type": "notify", "users": ["boss"], "title": "v1 {{ record.company }}"}])
    first = deliver(store, envelope("sales.lead_created.v1", LEAD, "lead", "create"))
    assert run_of(store, first[0]).steps[0]["outcome"] == {"notified": ["boss"]}

    def elsewhere(ctx):  # another replica's update of the definition, in its own transaction
        ctx.session.execute(update(Workflow).where(Workflow.id == wf.id).values(
            version=Workflow.version + 1, actions=[{"type": "notify", "users": ["deputy"], "title": "v2"}]))
        engine.changed(ctx.session)
    store.tx(elsewhere)
    second = deliver(store, envelope("sales.lead_created.v1", {**LEAD, "id": "lead-2"}, "lead", "create"))
    run = run_of(store, second[0])
    assert (run.workflow_version, run.steps[0]["outcome"]) == (wf.version + 1, {"notified": ["deputy"]})

    store.tx(workflows.update, wf.id, {"active": False})
    assert deliver(store, envelope("sales.lead_created.v1", {**LEAD, "id": "lead-3"}, "lead", "create")) == []
    assert deliver(store, envelope("sales.account_created.v1", {"id": "acc-1"}, "account", "create")) == []
    # the run log: the two runs and no other
    listed = store.tx(runs.page, {"sort": "-created_at", "limit": 50})["items"]
    assert [(r.id, r.status) for r in listed] == [(second[0], "succeeded"), (first[0], "succeeded")]
    # rows: one per heard event (its run acted and ended at the intake: its event's row of ended runs), no snapshot
    counted = store.tx(lambda ctx: (ctx.session.scalar(select(func.count()).select_from(WorkflowRun))
                                    + ctx.session.scalar(select(func.count()).select_from(EndedRuns)),
                                    ctx.session.scalar(select(func.count()).select_from(RecordSnapshot))))
    assert counted == (2, 0)


def test_assign_in_a_team_takes_its_active_members_in_turn_and_an_empty_team_parks_the_run(store, bus, envelope):
    from crm_automation.domain import notifications
    for user, team, active in (("t-b", "team-1", True), ("t-a", "team-1", True), ("t-c", "team-1", False),
                               ("other", "team-2", True)):
        store.tx(notifications.apply_user, {"id": user, "email": f"{user}@example.com", "roles": ["sales_rep"],
                                            "team_id": team, "is_active": active})
    define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "assign", "team": "team-1"}])
    for n in range(3):
        deliver(store, envelope("sales.lead_created.v1", {**LEAD, "id": f"lead-{n}"}, "lead", "create"))
    executor.sweep(store.tx, bus)
    assert [call[2] for call in bus.calls if call[1] == "update_lead"] == [
        {"owner_id": "t-a"}, {"owner_id": "t-b"}, {"owner_id": "t-a"}]  # t-c is deactivated, other is elsewhere

    define(store, trigger={"type": "event", "event": "sales.account_created.v1"},
           actions=[{"type": "assign", "team": "team-empty"}])
    [run_id] = deliver(store, envelope("sales.account_created.v1", {"id": "acc-1"}, "account", "create"))
    with time_machine.travel(clock.now(), tick=False) as traveller:
        for _ in range(3):
            executor.sweep(store.tx, bus)
            traveller.shift(timedelta(seconds=2))
    run = run_of(store, run_id)
    assert run.status == "failed" and "team team-empty has no active member" in run.error
    with pytest.raises(ServiceError) as bad:
        define(store, trigger={"type": "event", "event": "sales.lead_created.v1"},
               actions=[{"type": "assign", "team": "team-1", "users": ["x"]}])
    assert "actions.0.team" in bad.value.errors


def test_a_schedule_fired_twice_for_one_time_is_refused_the_second_run(store):
    """Two replicas firing one schedule time: the second run of that workflow and time is refused (a partial
    unique index of schedule runs); an event's runs are once per event by the inbox claim of their transaction."""
    from sqlalchemy.exc import IntegrityError

    wf = define(store, trigger={"type": "schedule", "cron": "0 9 * * *", "timezone": "UTC"},
                actions=[{"type": "notify", "users": ["ops"], "title": "daily check"}])
    context = {"record": {}, "trigger_record": {}, "previous": {}, "changed_fields": [], "event": {}}

    def fire(ctx, event_id, trigger_type):
        ctx.session.add(engine.new_run(wf, context, event_id, trigger_type, None, None, 0))
        ctx.session.flush()
    store.tx(fire, "schedule:2026-12-04T09:00:00+00:00", "schedule")
    with pytest.raises(IntegrityError):
        store.tx(fire, "schedule:2026-12-04T09:00:00+00:00", "schedule")
    store.tx(fire, "schedule:2026-12-05T09:00:00+00:00", "schedule")  # the next time: a run of its own
    assert len(store.tx(lambda ctx: ctx.session.scalars(select(WorkflowRun)).all())) == 2
