"""A privacy request's automation part (domain.privacy): after events naming a person were taken in (snapshots,
runs, runs that ended at their intake, notifications quoting their name), an erasure leaves no copy of their email
or name in any table, keeps the runs' ids, statuses and why they did not fire, refuses to replay their parked run,
leaves other people's rows as they were; an export answers what is kept; a second request finds nothing. On SQLite
and PostgreSQL."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, text

from crm_common.entrypoint import dispatch
from crm_common.errors import ServiceError
from crm_automation import clock, handlers
from crm_automation.domain import engine as intake, executor, runs, workflows
from crm_automation.models import Base, Notification, RecordSnapshot, WorkflowRun
from crm_automation_contracts import PRIVACY_PART_COMPLETED

ADA = {"id": "lead-ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@example.com",
       "phone": "+44 20 7946 0001", "company": "Engines", "status": "new", "country": "DE", "owner_id": "rep-1"}
GRACE = {"id": "lead-grace", "first_name": "Grace", "last_name": "Hopper", "email": "grace.hopper@example.com",
         "phone": "+1 555 0100", "company": "Navy", "status": "new", "country": "DE", "owner_id": "rep-1"}


@pytest.fixture
def engine(backend_engine):
    return backend_engine


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    monkeypatch.setenv("CRM_AUTOMATION_RETRY_DELAYS", ",")  # no retry: a failed step parks the run


def define(store, **body):
    return store.tx(workflows.create, {"name": "wf", "active": True, **body})


def request(store, envelope, kind: str, email: str) -> dict:
    env = envelope("identity.privacy_requested.v1", {"request_id": str(uuid.uuid4()), "kind": kind, "email": email},
                   producer="identity")
    store.tx(lambda ctx: (intake.on_events(ctx, [env]), dispatch(ctx, env, handlers.HANDLERS)))
    return store.events.of(PRIVACY_PART_COMPLETED)[-1]


def rows_text(store) -> str:
    """Every row of every table, as text."""
    def read(ctx):
        return "\n".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in ctx.session.execute(text(f"SELECT * FROM {table.name}")))
    return store.tx(read)


@pytest.fixture
def taken_in(store, bus, envelope):
    """Both leads created, then qualified (the update names no email: the run's record comes from the snapshot);
    the qualifying workflow notifies with the lead's name, then its update fails and the run is parked."""
    define(store, name="qualified", trigger={"type": "field_change", "resource": "lead", "field": "status",
                                             "to": "qualified"},
           actions=[{"type": "notify", "users": ["boss"],
                     "title": "{{ record.first_name }} {{ record.last_name }} is qualified"},
                    {"type": "update_record", "fields": {"rating": "hot"}}])
    define(store, name="vip", trigger={"type": "event", "event": "sales.lead_created.v1"},
           conditions={"all": [{"field": "email", "op": "contains", "value": "@vip.example"}]},
           actions=[{"type": "notify", "users": ["boss"], "title": "vip"}])
    for lead in (ADA, GRACE):
        store.tx(intake.on_event, envelope("sales.lead_created.v1", lead, "lead", "create"))
        store.tx(intake.on_event, envelope("sales.lead_updated.v1", {"id": lead["id"], "status": "qualified",
                                                                     "changed_fields": ["status"]}, "lead", "update"))
    bus.failing["update_lead"] = 2
    executor.sweep(store.tx, bus)
    parked = store.tx(lambda ctx: {r.record_id: r.id for r in ctx.session.scalars(select(WorkflowRun))})
    assert set(parked) == {ADA["id"], GRACE["id"]}
    return parked


def test_an_erasure_leaves_no_copy_of_the_person_and_keeps_the_runs_outcomes(store, bus, envelope, taken_in):
    before = rows_text(store)
    assert ADA["email"] in before and "Lovelace" in before and "Ada Lovelace is qualified" in before
    part = request(store, envelope, "erasure", ADA["email"].upper())
    assert part["status"] == "done" and part["data"] is None
    assert part["counts"] == {"record_snapshots": 1, "workflow_runs": 1, "ended_runs": 1, "notifications": 1}
    after = rows_text(store)
    for value in (ADA["email"], "Lovelace", ADA["phone"]):
        assert value.lower() not in after.lower()
    assert not re.search(r"\bAda\b", after)
    # other people's rows as they were
    for value in (GRACE["email"], "Grace Hopper is qualified", GRACE["phone"]):
        assert value in after
    snapshots = store.tx(lambda ctx: [s.record_id for s in ctx.session.scalars(select(RecordSnapshot))])
    assert snapshots == [GRACE["id"]]
    # the run log keeps ids, statuses and why a run did not fire, the value redacted
    ada_run = store.tx(runs.get, taken_in[ADA["id"]])
    assert ada_run.status == "failed" and ada_run.workflow_id and [s["status"] for s in ada_run.steps] == [
        "succeeded", "failed"]
    assert ada_run.context["record"] == {"id": ADA["id"], "erased": True}
    listing = store.tx(runs.page, {"sort": "created_at", "limit": 50, "record_id": ADA["id"]})["items"]
    skipped = [r for r in listing if r.status == "skipped"]
    assert len(skipped) == 1 and skipped[0].log == ["conditions not met: email contains '@vip.example' (was "
                                                    "'[erased]')"]
    note = store.tx(lambda ctx: ctx.session.scalars(select(Notification).where(
        Notification.record_id == ADA["id"])).one())
    assert note.title == "[erased] [erased] is qualified" and note.user_id == "boss"
    # the parked run is never replayed with the erased record; another person's is
    with pytest.raises(ServiceError) as refused:
        store.tx(runs.replay, taken_in[ADA["id"]])
    assert refused.value.code == "conflict" and "erased" in refused.value.detail
    store.tx(runs.replay, taken_in[GRACE["id"]])
    executor.sweep(store.tx, bus)
    assert store.tx(runs.get, taken_in[GRACE["id"]]).status == "succeeded"
    # a second request finds nothing
    again = request(store, envelope, "export", ADA["email"])
    assert again["counts"] == {"record_snapshots": 0, "workflow_runs": 0, "ended_runs": 0, "notifications": 0}
    assert again["data"] == {"record_snapshots": [], "workflow_runs": [], "ended_runs": [], "notifications": []}


def test_after_an_erasure_the_records_next_change_compares_with_nothing_seen(store, bus, envelope, taken_in):
    define(store, name="from new", trigger={"type": "field_change", "resource": "lead", "field": "status",
                                            "from": "qualified", "to": "working"},
           actions=[{"type": "notify", "users": ["boss"], "title": "working"}])
    request(store, envelope, "erasure", ADA["email"])
    working = {"status": "working", "changed_fields": ["status"]}
    # Ada's record was qualified, but that is no longer kept: "changed from qualified" does not fire
    assert store.tx(intake.on_event, envelope("sales.lead_updated.v1", {"id": ADA["id"], **working},
                                              "lead", "update")) == []
    assert len(store.tx(intake.on_event, envelope("sales.lead_updated.v1", {"id": GRACE["id"], **working},
                                                  "lead", "update"))) == 1
    kept = store.tx(lambda ctx: ctx.session.get(RecordSnapshot, ("lead", ADA["id"])).data)
    assert kept == {"id": ADA["id"], "status": "working"}  # kept again from the next event, for the next change


def test_an_export_answers_what_is_kept_of_the_person_only(store, envelope, taken_in):
    part = request(store, envelope, "export", ADA["email"])
    assert part["counts"] == {"record_snapshots": 1, "workflow_runs": 1, "ended_runs": 1, "notifications": 1}
    data = part["data"]
    assert data["record_snapshots"][0]["data"]["email"] == ADA["email"]
    assert data["workflow_runs"][0]["record"]["last_name"] == "Lovelace"
    assert data["ended_runs"][0]["runs"][0]["conditions"][0]["actual"] == ADA["email"]
    assert data["notifications"][0]["title"] == "Ada Lovelace is qualified"
    assert "grace" not in str(data).lower()
    assert ADA["email"] in rows_text(store)  # an export changes nothing


def test_a_run_still_waiting_is_stopped_by_an_erasure_and_never_acts_with_the_erased_record(store, bus, envelope):
    define(store, name="later", trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "wait", "days": 1}, {"type": "create_task", "subject": "Call {{ record.first_name }}",
                                                   "due_in_days": 1}])
    [waiting] = store.tx(intake.on_event, envelope("sales.lead_created.v1", ADA, "lead", "create"))
    [other] = store.tx(intake.on_event, envelope("sales.lead_created.v1", GRACE, "lead", "create"))
    assert store.tx(runs.get, waiting).status == "waiting"
    request(store, envelope, "erasure", ADA["email"])
    stopped = store.tx(runs.get, waiting)
    assert stopped.status == "stopped" and stopped.finished_at is not None and "erased" in stopped.log[-1]
    with time_machine.travel(clock.now() + timedelta(days=2), tick=False):
        executor.sweep(store.tx, bus)
    assert [call[2]["subject"] for call in bus.calls if call[1] == "create_activity"] == ["Call Grace"]
    assert store.tx(runs.get, other).status == "succeeded" and store.tx(runs.get, waiting).status == "stopped"


def test_a_run_that_acted_at_its_intake_is_exported_and_erased_as_every_run(store, envelope):
    """A run whose only action is a notification ends at its intake and is kept in its event's row of ended runs
    with the record as it saw it, as a row of `workflow_runs` keeps it: an export answers it among the runs with the
    record; an erasure cuts the person's values out of its steps and log, of its context and of the notification
    quoting their name (found through that record: nothing else here keeps a copy of it, no snapshot)."""
    define(store, name="new lead", trigger={"type": "event", "event": "sales.lead_created.v1"},
           actions=[{"type": "notify", "users": ["boss"], "title": "New lead {{ record.first_name }} "
                                                                   "{{ record.last_name }}"}])
    [ada_run] = store.tx(intake.on_event, envelope("sales.lead_created.v1", ADA, "lead", "create"))
    store.tx(intake.on_event, envelope("sales.lead_created.v1", GRACE, "lead", "create"))
    assert store.tx(lambda ctx: ctx.session.get(WorkflowRun, ada_run)) is None  # its event's row keeps it
    part = request(store, envelope, "export", ADA["email"])
    assert part["counts"] == {"record_snapshots": 0, "workflow_runs": 1, "ended_runs": 0, "notifications": 1}
    [exported] = part["data"]["workflow_runs"]
    assert (exported["id"], exported["status"], exported["record"]["last_name"]) == (ada_run, "succeeded", "Lovelace")
    assert part["data"]["ended_runs"] == [] and "grace" not in str(part["data"]).lower()

    part = request(store, envelope, "erasure", ADA["email"])
    assert part["counts"] == {"record_snapshots": 0, "workflow_runs": 1, "ended_runs": 0, "notifications": 1}
    after = rows_text(store)
    for value in (ADA["email"], "Lovelace", ADA["phone"]):
        assert value.lower() not in after.lower()
    assert not re.search(r"\bAda\b", after) and "New lead Grace Hopper" in after and GRACE["email"] in after
    run = store.tx(runs.get, ada_run)
    assert (run.status, [s["status"] for s in run.steps]) == ("succeeded", ["succeeded"])
    assert run.log[-1] == "its record's personal data was erased by a privacy request"
    assert run.context["record"] == {"id": ADA["id"], "erased": True}
    note = store.tx(lambda ctx: ctx.session.scalars(select(Notification).where(
        Notification.record_id == ADA["id"])).one())
    assert note.title == "New lead [erased] [erased]"
    again = request(store, envelope, "export", ADA["email"])
    assert again["counts"] == {"record_snapshots": 0, "workflow_runs": 0, "ended_runs": 0, "notifications": 0}
