"""The events one transaction takes are stamped with one time (their runs, steps and notifications: clock.held):
the run log and the inbox, which order by time then id, list them in their events' order all the same, as the
ids they are given rise in the order they were made, also within one millisecond (crm_common.ids)."""
from __future__ import annotations

from crm_automation.domain import engine, notifications, workflows
from crm_automation.domain import runs as run_log

EVENTS = 40


def define(store, name, trigger, **body):
    return store.tx(workflows.create, {"name": name, "active": True, "trigger": trigger,
                                       "actions": [{"type": "notify", "users": ["boss"], "title": name}], **body})


def test_a_batchs_runs_and_notifications_are_listed_in_their_events_order(backend_store, envelope):
    store = backend_store
    created = {"type": "event", "event": "sales.lead_created.v1"}
    define(store, "notify", created, actions=[{"type": "notify", "users": ["boss"], "title": "{{ record.company }}"}])
    define(store, "skips", created, conditions={"all": [{"field": "company", "op": "eq", "value": "nobody"}]})
    # a remote action: a row of workflow_runs for the executor, among the rows of runs ended at their intake
    define(store, "goes on", created, actions=[{"type": "create_task", "subject": "call {{ record.company }}"}])
    leads = [{"id": f"lead-{n}", "company": f"company {n:02d}", "status": "new"} for n in range(EVENTS)]
    batch = [envelope("sales.lead_created.v1", lead, "lead", "create") for lead in leads]
    store.tx(engine.on_events, batch)  # one transaction: one time for all

    page = store.tx(run_log.page, {"sort": "created_at", "limit": 200})
    assert page["next_cursor"] is None and len(page["items"]) == 3 * EVENTS
    assert len({run.created_at for run in page["items"]}) == 1  # they tie on their time
    # three runs of each event, together, in the events' order: the order of their ids
    assert [run.trigger_event_id for run in page["items"]] == [e["event_id"] for e in batch for _ in range(3)]
    backwards = store.tx(run_log.page, {"sort": "-created_at", "limit": 200})["items"]
    assert [run.id for run in backwards] == [run.id for run in reversed(page["items"])]
    by_pages, cursor = [], None  # the cursor over runs that tie: no run twice, none left out
    while True:
        part = store.tx(run_log.page, {"sort": "created_at", "limit": 7, **({"cursor": cursor} if cursor else {})})
        by_pages += part["items"]
        cursor = part["next_cursor"]
        if cursor is None:
            break
    assert [run.id for run in by_pages] == [run.id for run in page["items"]]

    inbox = store.as_user("boss")(notifications.page, {"sort": "created_at", "limit": 200})
    assert [note.title for note in inbox["items"]] == [lead["company"] for lead in leads]
    latest = store.as_user("boss")(notifications.page, {"sort": "-created_at", "limit": 200})
    assert [note.title for note in latest["items"]] == [lead["company"] for lead in reversed(leads)]
