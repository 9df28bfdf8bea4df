"""Workflows through the gateway, as an administrator and the people they serve: a field change runs the
actions (the owner's RPC, a task, a notification that also arrives by email), the run log says what happened
and why, a workflow that would loop stops at depth 5 and says so, a wait fires after its delay."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from crm_common import mailcatcher
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def runs_of(admin, workflow_id: str, until, **params):
    def fetch():
        response = admin.get(f"/api/v1/workflows/{workflow_id}/runs", params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]
    return eventually(fetch, timeout=30, until=until)


def make(admin, body: dict) -> dict:
    response = admin.post("/api/v1/workflows", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def switch_off(admin, workflow: dict) -> None:
    assert admin.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204


def test_a_lead_qualified_gets_a_task_and_its_owner_a_notification_and_an_email(suite, admin):
    tag = f"Qualify {uniq()}"
    workflow = make(admin, {
        "name": "Qualified lead: follow up",
        "trigger": {"type": "field_change", "resource": "lead", "field": "status", "to": "qualified"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": tag}]},
        "actions": [{"type": "update_record", "fields": {"score": 90}},
                    {"type": "create_task", "subject": "Follow up {{ record.company }}", "due_in_days": 1},
                    {"type": "notify", "to_owner": True, "kind": "assignment",
                     "title": "{{ record.company }} is qualified", "body": "Call them today."}]})
    try:
        assert workflow["active"] is True and workflow["trigger"]["to"] == "qualified"
        rep = admin.as_new_user(["sales_rep"])
        lead = rep.post("/api/v1/leads", json={"last_name": "Lovelace", "company": tag,
                                               "email": f"ada-{uniq()}@example.com"}).json()
        other = rep.post("/api/v1/leads", json={"last_name": "Babbage", "company": f"Other {uniq()}"}).json()
        assert rep.patch(f"/api/v1/leads/{other['id']}", json={"status": "qualified"}).status_code == 200
        saved = rep.patch(f"/api/v1/leads/{lead['id']}", json={"status": "qualified"})
        assert saved.status_code == 200, saved.text  # the save itself is the rep's, whatever the rule does

        [run] = runs_of(admin, workflow["id"], lambda items: any(r["status"] == "succeeded" for r in items),
                        record_id=lead["id"])
        assert run["status"] == "succeeded", run
        assert run["trigger_type"] == "sales.lead_updated.v1" and run["workflow_version"] == workflow["version"]
        assert [s["action"] for s in run["steps"]] == ["update_record", "create_task", "notify"]
        assert all(s["status"] == "succeeded" for s in run["steps"])
        assert run["conditions"][0]["result"] is True and run["duration_ms"] is not None
        # the other lead's run says why it did nothing
        [skipped] = runs_of(admin, workflow["id"], bool, record_id=other["id"])
        assert skipped["status"] == "skipped" and "conditions not met" in skipped["log"][-1]

        assert rep.get(f"/api/v1/leads/{lead['id']}").json()["score"] == 90
        tasks = rep.get("/api/v1/activities", params={"lead_id": lead["id"]}).json()["items"]
        assert [(t["type"], t["subject"], t["owner_id"]) for t in tasks] == [("task", f"Follow up {tag}", rep.user["id"])]

        inbox = rep.get("/api/v1/notifications").json()
        [note] = [n for n in inbox["items"] if n["title"] == f"{tag} is qualified"]
        assert note["kind"] == "assignment" and note["read_at"] is None and inbox["unread_count"] >= 1
        read = rep.post(f"/api/v1/notifications/{note['id']}/read")
        assert read.status_code == 200 and read.json()["read_at"]
        assert rep.get("/api/v1/notifications", params={"unread": "true"}).json()["unread_count"] == \
            inbox["unread_count"] - 1
        # nobody else reads or marks it
        stranger = admin.as_new_user(["sales_rep"])
        assert stranger.post(f"/api/v1/notifications/{note['id']}/read").status_code == 404

        directory = Path(suite.suite.env["CRM_MAIL_DIR"])
        def notices():  # the rep's mail, less the address verification every new user gets (identity)
            return [m for m in mailcatcher.caught(directory)
                    if m["To"] == rep.user["email"] and m["Subject"] != "Confirm your CRM email address"]
        mails = eventually(notices, timeout=30)
        assert [m["Subject"] for m in mails] == [f"{tag} is qualified"]
        assert "Call them today." in mails[0].get_body().get_content()
    finally:
        switch_off(admin, workflow)


def test_preferences_per_kind_and_channel_and_read_all(admin):
    me = admin.as_new_user(["support_agent"])
    prefs = me.get("/api/v1/notification-preferences").json()["items"]
    assert {"kind": "complaint", "channel": "email", "enabled": True, "digest": False} in prefs
    changed = me.put("/api/v1/notification-preferences", json={"items": [
        {"kind": "complaint", "channel": "email", "enabled": False},
        {"kind": "reminder", "channel": "email", "enabled": True, "digest": True}]})
    assert changed.status_code == 200, changed.text
    items = {(p["kind"], p["channel"]): p for p in changed.json()["items"]}
    assert items[("complaint", "email")]["enabled"] is False and items[("reminder", "email")]["digest"] is True
    bad = me.put("/api/v1/notification-preferences", json={"items": [{"kind": "gossip", "channel": "email",
                                                                       "enabled": True}]})
    assert bad.status_code == 422 and "items" in bad.json()["errors"]
    done = me.post("/api/v1/notifications/read-all")
    assert done.status_code == 200 and done.json()["unread_count"] == 0


def test_a_workflow_that_would_loop_stops_at_depth_five_and_says_so(admin):
    tag = f"Loop {uniq()}"
    workflow = make(admin, {
        "name": "Bump the title on every change (a loop)",
        "trigger": {"type": "field_change", "resource": "lead", "field": "title"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": tag}]},
        "actions": [{"type": "update_record", "fields": {"title": "{{ record.title }}+"}}]})
    try:
        lead = admin.post("/api/v1/leads", json={"last_name": "Loop", "company": tag, "title": "t"}).json()
        # the stopped run (depth 6) may be logged before the run that caused it (depth 5) records its success
        runs = runs_of(admin, workflow["id"], lambda items: any(r["status"] == "stopped" for r in items) and
                       sum(r["status"] == "succeeded" for r in items) >= 6, record_id=lead["id"])
        stopped = [r for r in runs if r["status"] == "stopped"]
        assert len(stopped) == 1 and "loop guard" in stopped[0]["log"][0], runs
        assert stopped[0]["depth"] == 6
        assert sorted(r["depth"] for r in runs if r["status"] == "succeeded") == [0, 1, 2, 3, 4, 5]
        assert admin.get(f"/api/v1/leads/{lead['id']}").json()["title"] == "t" + "+" * 6
    finally:
        switch_off(admin, workflow)


def test_a_wait_fires_after_its_delay_and_bad_definitions_are_refused(admin):
    tag = f"Wait {uniq()}"
    workflow = make(admin, {
        "name": "New lead: tell the boss a bit later",
        "trigger": {"type": "event", "event": "sales.lead_created.v1"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": tag}]},
        "actions": [{"type": "wait", "seconds": 3},
                    {"type": "notify", "users": [admin.user["id"]], "title": "{{ record.company }} waited"}]})
    try:
        lead = admin.post("/api/v1/leads", json={"last_name": "Later", "company": tag}).json()
        [waiting] = runs_of(admin, workflow["id"], lambda items: items and items[0]["status"] == "waiting",
                            record_id=lead["id"])
        assert waiting["due_at"] and [s["action"] for s in waiting["steps"]] == ["wait"]
        [done] = runs_of(admin, workflow["id"], lambda items: items and items[0]["status"] == "succeeded",
                         record_id=lead["id"])
        assert done["status"] == "succeeded"
        titles = [n["title"] for n in admin.get("/api/v1/notifications").json()["items"]]
        assert f"{tag} waited" in titles
    finally:
        switch_off(admin, workflow)

    bad = admin.post("/api/v1/workflows", json={"name": "bad", "trigger": {"type": "schedule", "cron": "99 * * * *"},
                                                "actions": [{"type": "notify", "title": "x"}]})
    assert bad.status_code == 422, bad.text
    assert {"trigger.cron", "actions.0"} <= set(bad.json()["errors"])
    rep = admin.as_new_user(["sales_rep"])
    assert rep.get("/api/v1/workflows").status_code == 403
    assert rep.post("/api/v1/workflows", json={"name": "x"}).status_code == 403
