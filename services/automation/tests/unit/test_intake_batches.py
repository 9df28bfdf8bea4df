"""The intake of the events one transaction applies together (the service's stream is batched): each event sees
the record as the events before it left it, the runs and notifications of all are written at the end, and a
field-change workflow is looked up by the field that changed, with the same outcome as checking them all."""
from __future__ import annotations

import json

from sqlalchemy import select

from crm_automation.domain import engine, notifications, workflows
from crm_automation.models import EndedRuns, Notification, NotificationPreference, RecordSnapshot, WorkflowRun

LEAD = {"id": "lead-1", "company": "Engines", "status": "new", "owner_id": "rep-1"}


def define(store, name, trigger, **body):
    return store.tx(workflows.create, {"name": name, "active": True, "trigger": trigger,
                                       "actions": [{"type": "notify", "users": ["boss"], "title": name}], **body})


def runs(store):
    """Every run, as the run log lists them (the runs that ended at their intake too)."""
    from crm_automation.domain import runs as run_log
    page = store.tx(run_log.page, {"sort": "created_at", "limit": 200})
    assert page["next_cursor"] is None
    return [(r.workflow_id, r.status, r.trigger_event_id) for r in page["items"]]


def update(envelope, **changes):
    return envelope("sales.lead_updated.v1", {**LEAD, **changes, "changed_fields": sorted(changes)}, "lead", "update")


def test_events_of_one_batch_see_the_record_as_the_ones_before_left_it(store, envelope):
    moved = define(store, "new to working", {"type": "field_change", "resource": "lead", "field": "status",
                                             "from": "new", "to": "working"})
    batch = [envelope("sales.lead_created.v1", {**LEAD, "status": "open"}, "lead", "create"),
             update(envelope, status="working"),  # from open: no run
             update(envelope, status="new"),
             update(envelope, status="working")]  # from new, as the event before left it: a run
    ids = store.tx(engine.on_events, batch)
    assert len(ids) == 1
    assert runs(store) == [(moved.id, "succeeded", batch[3]["event_id"])]
    snapshot = store.tx(lambda ctx: ctx.session.scalars(select(RecordSnapshot)).one().data)
    assert snapshot["status"] == "working"  # kept for the next transaction
    # the next transaction goes on from there: working -> new is no run, new -> working again is one
    store.tx(engine.on_events, [update(envelope, status="new"), update(envelope, status="working")])
    assert len(runs(store)) == 2


def test_a_batch_reads_its_records_snapshots_together_on_either_backend(backend_store, envelope):
    """The snapshots of a batch's records, some seen in an earlier transaction, are read in one statement (on
    PostgreSQL with the records as one array): each change compares with its own record's last values."""
    store = backend_store
    moved = define(store, "new to working", {"type": "field_change", "resource": "lead", "field": "status",
                                             "from": "new", "to": "working"})

    def lead(id_, action, **values):
        data = {**LEAD, "id": id_, **values}
        if action == "update":
            data["changed_fields"] = sorted(values)
        return envelope(f"sales.lead_{action}d.v1", data, "lead", action)
    store.tx(engine.on_events, [lead("lead-1", "create", status="new"), lead("lead-2", "create", status="open")])
    batch = [lead("lead-1", "update", status="working"),  # new -> working: a run
             lead("lead-2", "update", status="working"),  # open -> working: none
             lead("lead-3", "create", status="new"), lead("lead-3", "update", status="working"),  # a run
             lead("lead-4", "update", status="working")]  # never seen: nothing to compare with, no run
    assert len(store.tx(engine.on_events, batch)) == 2
    assert runs(store) == [(moved.id, "succeeded", batch[0]["event_id"]), (moved.id, "succeeded", batch[3]["event_id"])]
    kept = store.tx(lambda ctx: {s.record_id: s.data["status"] for s in ctx.session.scalars(select(RecordSnapshot))})
    assert kept == {"lead-1": "working", "lead-2": "working", "lead-3": "working", "lead-4": "working"}


def test_a_batch_gives_the_runs_and_notifications_of_one_by_one_delivery(store, envelope):
    """The same events, in one transaction or one per transaction: the same runs (in order) and notifications,
    each user's preference applied (one who switched workflow notices off gets none)."""
    status = define(store, "status", {"type": "field_change", "resource": "lead", "field": "status"})
    anything = define(store, "any change", {"type": "field_change", "resource": "lead", "field": "*"},
                      conditions={"all": [{"field": "company", "op": "eq", "value": "Engines"}]})
    define(store, "rating", {"type": "field_change", "resource": "lead", "field": "rating"})
    created = define(store, "created", {"type": "event", "event": "sales.lead_created.v1"},
                     actions=[{"type": "notify", "users": ["boss", "quiet"], "title": "new {{ record.company }}"}])

    def quiet(ctx):
        for channel in ("in_app", "email"):
            ctx.session.add(NotificationPreference(user_id="quiet", kind="workflow", channel=channel, enabled=False))
    store.tx(quiet)
    events = [envelope("sales.lead_created.v1", LEAD, "lead", "create"), update(envelope, status="working"),
              update(envelope, company="Other"), update(envelope, company="Engines", status="lost")]
    store.tx(engine.on_events, events)
    in_one = runs(store)
    notes = store.tx(lambda ctx: sorted((n.user_id, n.title) for n in ctx.session.scalars(select(Notification))))

    # the creation: created, status and any change (status is in the new record); the rating workflow never
    expected = [(created.id, "succeeded", events[0]["event_id"]), (status.id, "succeeded", events[0]["event_id"]),
                (anything.id, "succeeded", events[0]["event_id"]),
                (status.id, "succeeded", events[1]["event_id"]), (anything.id, "succeeded", events[1]["event_id"]),
                (anything.id, "skipped", events[2]["event_id"]),  # the company is Other by then
                (status.id, "succeeded", events[3]["event_id"]), (anything.id, "succeeded", events[3]["event_id"])]
    assert sorted(in_one) == sorted(expected)
    assert ("quiet", "new Engines") not in notes and ("boss", "new Engines") in notes
    assert len(notes) == 7  # one per succeeded run: boss each time

    def wipe(ctx):
        for model in (WorkflowRun, EndedRuns, Notification, RecordSnapshot):
            ctx.session.query(model).delete()
    store.tx(wipe)
    fresh = [{**e, "event_id": e["event_id"] + "-again"} for e in events]
    for one in fresh:
        store.tx(engine.on_event, one)
    one_by_one = [(w, s, e.removesuffix("-again")) for w, s, e in runs(store)]
    assert sorted(one_by_one) == sorted(in_one)
    assert store.tx(lambda ctx: sorted((n.user_id, n.title) for n in ctx.session.scalars(select(Notification)))) == notes


def test_a_batchs_snapshots_read_on_sqlite_are_the_values_the_json_column_gives(backend_store):
    """A batch's snapshots, read on SQLite by the driver's own statement and `jsontext.loads` (on PostgreSQL by the
    Core's): the values the JSON column gives back, an int beyond 64 bits, floats, text beyond ASCII and None among
    them; records with no snapshot read as none, and more records than one statement takes."""
    from crm_automation.domain.drafts import Batch
    store = backend_store
    values = {"id": "lead-1", "big": 2 ** 70, "small": -(2 ** 63), "rating": 4.5, "tiny": 1e-300,
              "name": "Caf\u00e9 \"Q\"", "none": None, "yes": True, "digits": "12345678901234567890123",
              "surrogate": "\ud800"}
    many = [RecordSnapshot(resource="lead", record_id=f"r-{n:04d}", data={"id": f"r-{n:04d}", "n": n})
            for n in range(1, 1200)]
    store.tx(lambda ctx: ctx.session.add_all(
        [RecordSnapshot(resource="lead", record_id="lead-1", data=values), *many,
         RecordSnapshot(resource="deal", record_id="lead-1", data={"id": "lead-1", "deal": True})]))
    wanted = {("lead", "lead-1"), ("deal", "lead-1"), ("lead", "lead-0"), ("deal", "r-0001")} | {
        ("lead", f"r-{n:04d}") for n in range(1, 1200, 2)}

    def read(ctx):
        batch = Batch(ctx.session)
        batch.load(wanted)
        return batch._stored
    stored = store.tx(read)
    expected = store.tx(lambda ctx: {key: (s.data if (s := ctx.session.get(RecordSnapshot, key)) else None)
                                     for key in wanted})
    assert stored == expected
    assert stored[("lead", "lead-1")] == values and type(stored[("lead", "lead-1")]["big"]) is int
    assert stored[("lead", "lead-0")] is None and stored[("deal", "r-0001")] is None
    assert stored[("lead", "r-1199")] == {"id": "r-1199", "n": 1199}


def test_a_new_records_snapshot_is_stored_as_the_json_type_writes_it(store, envelope):
    """The snapshots of records first seen go in as text (drafts.Batch.write): the same text and value as the
    column's JSON type gives, read back the same."""
    define(store, "status", {"type": "field_change", "resource": "lead", "field": "status"})
    odd = {**LEAD, "id": "lead-2", "company": "Caf\u00e9 \"Q\"", "rating": 4.5, "tags": ["not", "kept"], "empty": None}
    store.tx(engine.on_events, [envelope("sales.lead_created.v1", LEAD, "lead", "create"),
                                envelope("sales.lead_created.v1", odd, "lead", "create")])
    kept = {k: v for k, v in odd.items() if k != "tags"}  # lists are not kept (drafts.snapshot_fields)
    raw = store.tx(lambda ctx: ctx.session.connection().exec_driver_sql(
        "SELECT data FROM record_snapshots WHERE record_id = 'lead-2'").scalar())
    assert raw == json.dumps(kept)
    assert store.tx(lambda ctx: ctx.session.get(RecordSnapshot, ("lead", "lead-2")).data) == kept


def test_notifications_gathered_are_written_only_when_the_block_ends_well(store):
    def made_then_failed(ctx):
        with notifications.gathered(ctx.session):
            notifications.notify(ctx, ["a"], "workflow", "one")
            raise RuntimeError("the batch failed")

    try:
        store.tx(made_then_failed)
    except RuntimeError:
        pass
    assert store.tx(lambda ctx: ctx.session.scalars(select(Notification)).all()) == []

    def made(ctx):
        with notifications.gathered(ctx.session):
            notifications.notify(ctx, ["a", "b"], "workflow", "two")
            assert ctx.session.scalars(select(Notification)).all() == []  # not yet
        return ctx.session.scalars(select(Notification.user_id)).all()
    assert sorted(store.tx(made)) == ["a", "b"]


def test_a_run_ended_at_its_intake_reads_as_every_run_in_the_run_log(store, envelope):
    """A skipped run (written from its event's shared row, not a draft) answers through the run log like any run:
    its trigger, each condition's result, no step, no time spent, the version that ran; filtered by outcome."""
    from crm_automation.domain import runs as run_log
    from crm_automation_contracts import workflows as c

    wf = define(store, "engines only", {"type": "field_change", "resource": "lead", "field": "status"},
                conditions={"all": [{"field": "company", "op": "eq", "value": "Engines"},
                                    {"field": "status", "op": "in", "value": ["won"]}]})
    event = update(envelope, status="working")
    [run_id] = store.tx(engine.on_events, [event])
    dumped = c.WorkflowRun().dump(store.tx(run_log.get, run_id))
    assert {k: dumped[k] for k in ("workflow_id", "workflow_version", "trigger_event_id", "trigger_type", "resource",
                                   "record_id", "status", "depth", "conditions_met", "steps", "error", "duration_ms")} \
        == {"workflow_id": wf.id, "workflow_version": wf.version, "trigger_event_id": event["event_id"],
            "trigger_type": "sales.lead_updated.v1", "resource": "lead", "record_id": "lead-1", "status": "skipped",
            "depth": 0, "conditions_met": False, "steps": [], "error": None, "duration_ms": 0}
    assert dumped["conditions"] == [
        {"field": "company", "op": "eq", "value": "Engines", "actual": "Engines", "result": True},
        {"field": "status", "op": "in", "value": ["won"], "actual": "working", "result": False}]
    assert dumped["log"] == ["conditions not met: status in ['won'] (was 'working')"]
    assert dumped["started_at"] == dumped["finished_at"] and dumped["due_at"] == dumped["started_at"]
    page = store.tx(run_log.page, {"sort": "-created_at", "limit": 5, "status": "skipped", "workflow_id": wf.id,
                                   "record_id": "lead-1"})
    assert [r.id for r in page["items"]] == [run_id]


def test_notifications_in_a_batch_follow_each_users_channels_as_alone(store):
    """Each user's preferences for the kind decide a notification's channels, gathered in a batch as alone: in-app
    off (email only), email as a digest, email off (in-app only), both off (none), nothing set (both, one email
    each); a kind with no preference of the user's is the default."""
    prefs = {("mail_only", "in_app"): (False, False), ("digester", "email"): (True, True),
             ("app_only", "email"): (False, False), ("silent", "in_app"): (False, False),
             ("silent", "email"): (False, False)}

    def set_prefs(ctx):
        for (user, channel), (enabled, digest) in prefs.items():
            ctx.session.add(NotificationPreference(user_id=user, kind="workflow", channel=channel, enabled=enabled,
                                                   digest=digest))
    store.tx(set_prefs)
    users = ["mail_only", "digester", "app_only", "silent", "nobody_set"]

    def written(ctx):
        return sorted((n.user_id, n.kind, n.in_app, n.email_status)
                      for n in ctx.session.scalars(select(Notification)))

    def gathered(ctx):
        with notifications.gathered(ctx.session):
            made = notifications.notify(ctx, users, "workflow", "one")
            made += notifications.notify(ctx, ["digester", "mail_only"], "workflow", "two")  # the same, read once
            made += notifications.notify(ctx, ["mail_only"], "mention", "three")  # another kind: the default
        return sorted((m.user_id, m.kind) for m in made)
    made = store.tx(gathered)
    in_batch = store.tx(written)
    assert made == [("app_only", "workflow"), ("digester", "workflow"), ("digester", "workflow"),
                    ("mail_only", "mention"), ("mail_only", "workflow"), ("mail_only", "workflow"),
                    ("nobody_set", "workflow")]
    assert sorted(set(in_batch)) == [("app_only", "workflow", True, "none"), ("digester", "workflow", True, "digest"),
                                     ("mail_only", "mention", True, "pending"),
                                     ("mail_only", "workflow", False, "pending"),
                                     ("nobody_set", "workflow", True, "pending")]

    store.tx(lambda ctx: ctx.session.query(Notification).delete())

    def alone(ctx):
        notifications.notify(ctx, users, "workflow", "one")
        notifications.notify(ctx, ["digester", "mail_only"], "workflow", "two")
        notifications.notify(ctx, ["mail_only"], "mention", "three")
    store.tx(alone)
    assert store.tx(written) == in_batch


def test_the_candidates_remembered_for_a_set_of_fields_are_those_worked_out_afresh():
    """`Watching` remembers the field-change workflows of each set of field names it was asked about: asked again
    (an event of the same shape), it answers the same, in the order they were defined; a changed field that is
    no name (a list) is worked out each time, not remembered."""
    def active(n, field):
        trigger = {"type": "field_change", "resource": "lead", "field": field}
        return engine.Active(f"wf-{n}", 1, f"wf {n}", trigger, None, [], "entity:lead", {})
    workflows_ = [active(0, "status"), active(1, "*"), active(2, "rating"), active(3, "status"), active(4, "owner_id")]
    asked = [("update", {"id": "l", "changed_fields": ["status"]}),
             ("update", {"id": "l", "changed_fields": ["rating", "status"]}),
             ("update", {"id": "l", "changed_fields": []}),
             ("create", {"id": "l", "status": "new", "owner_id": "u"}),
             ("update", {"id": "l", "changed_fields": ["status", ["odd"]]})]
    watching = engine.Watching(workflows_)
    for action, data in asked * 3:
        fresh = engine.Watching(workflows_).candidates(action, data)
        assert watching.candidates(action, data) == fresh
    assert [w.id for w in watching.candidates("update", asked[1][1])] == ["wf-0", "wf-1", "wf-2", "wf-3"]
    assert [w.id for w in watching.candidates("create", asked[3][1])] == ["wf-0", "wf-1", "wf-3", "wf-4"]
    assert len(watching._memo) == 4  # the odd one not remembered
