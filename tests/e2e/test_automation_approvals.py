"""Approvals and built-in templates through the gateway: a quote over the discount limit waits for its chain
(the rep's manager, then an administrator past the second threshold) and goes out once approved; an expense
claim over the approval amount waits for the claimant's manager; templates a company switches on do their work."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def pending_for(client, record_id: str):
    def fetch():
        response = client.get("/api/v1/approvals", params={"status": "pending"})
        assert response.status_code == 200, response.text
        return [a for a in response.json()["items"] if a["record_id"] == record_id]
    return eventually(fetch, timeout=30)


def test_a_discounted_quote_waits_for_its_approval_chain_then_goes_out(admin):
    manager = admin.as_new_user(["sales_manager"])
    team = admin.post("/api/v1/teams", json={"name": f"Approvals {uniq()}", "manager_id": manager.user["id"]})
    assert team.status_code == 201, team.text
    rep = admin.as_new_user(["sales_rep"], team_id=team.json()["id"])
    account = rep.post("/api/v1/accounts", json={"name": f"Buyer {uniq()}", "city": "Berlin"}).json()
    quote = rep.post("/api/v1/quotes", json={"account_id": account["id"], "currency": "EUR", "lines": [
        {"description": "Licence", "quantity": "10", "unit_price": "100.00", "discount_percent": "35"}]}).json()
    assert quote["needs_approval"] is True

    sent = rep.post(f"/api/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 409 and sent.json()["approval_requested"] is True
    assert rep.post(f"/api/v1/quotes/{quote['id']}/send").status_code == 409  # asking again starts nothing new

    [approval] = pending_for(manager, quote["id"])
    assert approval["resource"] == "quote" and approval["status"] == "pending"
    assert [(s["approver_id"], s["role"]) for s in approval["steps"]] == [(manager.user["id"], None), (None, "admin")]
    assert any(n["kind"] == "approval" and n["title"].startswith("Approval needed")
               for n in manager.get("/api/v1/notifications").json()["items"])
    assert rep.get(f"/api/v1/approvals/{approval['id']}").status_code == 200  # the requester follows it
    assert rep.post(f"/api/v1/approvals/{approval['id']}/approve", json={}).status_code == 403
    assert admin.as_new_user(["sales_rep"]).get(f"/api/v1/approvals/{approval['id']}").status_code == 404

    first = manager.post(f"/api/v1/approvals/{approval['id']}/approve", json={"comment": "Strategic account"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["current_step"] == 1
    assert rep.get(f"/api/v1/quotes/{quote['id']}").json()["status"] == "draft"  # still blocked

    [waiting] = pending_for(admin, quote["id"])
    done = admin.post(f"/api/v1/approvals/{waiting['id']}/approve", json={"comment": "ok"})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert [(s["decision"], s["comment"]) for s in done.json()["steps"]] == [
        ("approved", "Strategic account"), ("approved", "ok")]
    assert admin.post(f"/api/v1/approvals/{waiting['id']}/reject", json={}).status_code == 409

    out = eventually(lambda: rep.get(f"/api/v1/quotes/{quote['id']}").json(), timeout=30,
                     until=lambda q: q["status"] == "sent")
    assert out["status"] == "sent" and out["approved_by"] == admin.user["id"]
    assert any(n["title"].endswith(": approved") for n in rep.get("/api/v1/notifications").json()["items"])


def test_an_expense_claim_above_the_approval_amount_waits_for_its_approval_then_is_approved(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Claims {uniq()}"})
    assert team.status_code == 201, team.text
    manager = admin.as_new_user(["sales_manager"], team_id=team.json()["id"])  # sees the team's claims
    led = admin.patch(f"/api/v1/teams/{team.json()['id']}", json={"manager_id": manager.user["id"]})
    assert led.status_code == 200, led.text
    rep = admin.as_new_user(["sales_rep"], team_id=team.json()["id"])
    claim = rep.post("/api/v1/expenses", json={"amount": "820.00", "currency": "EUR", "category": "travel",
                                               "incurred_on": "2026-11-20", "description": "Fair in Lyon"})
    assert claim.status_code == 201, claim.text
    claim = claim.json()
    assert claim["status"] == "submitted"
    direct = manager.post(f"/api/v1/expenses/{claim['id']}/approve", json={"note": "ok"})
    assert direct.status_code == 409 and direct.json()["needs_approval"] is True  # the chain decides it

    [approval] = pending_for(manager, claim["id"])
    assert approval["resource"] == "expense" and approval["title"] == "Expense claim 820.00 EUR"
    assert [(s["approver_id"], s["role"]) for s in approval["steps"]] == [(manager.user["id"], None)]
    assert rep.post(f"/api/v1/approvals/{approval['id']}/approve", json={}).status_code == 403  # not one's own
    assert rep.get(f"/api/v1/expenses/{claim['id']}").json()["status"] == "submitted"  # still waiting

    done = manager.post(f"/api/v1/approvals/{approval['id']}/approve", json={"comment": "Receipts attached"})
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text
    approved = eventually(lambda: rep.get(f"/api/v1/expenses/{claim['id']}").json(), timeout=30,
                          until=lambda e: e["status"] != "submitted")
    assert (approved["status"], approved["decided_by"], approved["decision_note"]) == (
        "approved", manager.user["id"], "Receipts attached")
    assert any(n["title"] == "Expense claim 820.00 EUR: approved" for n in rep.get("/api/v1/notifications").json()["items"])


def test_built_in_templates_switched_on_do_their_work(admin):
    listed = admin.get("/api/v1/workflow-templates")
    assert listed.status_code == 200
    assert {t["key"] for t in listed.json()["items"]} == {"new_lead_follow_up", "opportunity_idle",
                                                          "complaint_notify_manager", "ticket_solved_note",
                                                          "contract_renewal"}
    team = admin.post("/api/v1/teams", json={"name": f"Inbound {uniq()}"}).json()
    reps = [admin.as_new_user(["sales_rep"], team_id=team["id"]) for _ in range(2)]
    support_manager = admin.as_new_user(["support_manager"])
    enabled = []
    try:
        for key, body in (("new_lead_follow_up", {"users": [r.user["id"] for r in reps]}),
                          ("complaint_notify_manager", {}), ("ticket_solved_note", {})):
            response = admin.post(f"/api/v1/workflow-templates/{key}/enable", json=body)
            assert response.status_code == 201, response.text
            enabled.append(response.json())
        assert enabled[0]["template"] == "new_lead_follow_up" and enabled[0]["active"] is True

        # new lead -> the next rep in turn owns it and has a follow-up task due in a day
        lead = admin.post("/api/v1/leads", json={"last_name": "Inbound", "company": f"Co {uniq()}"}).json()
        owned = eventually(lambda: admin.get(f"/api/v1/leads/{lead['id']}").json(), timeout=30,
                           until=lambda l: l["owner_id"] in {r.user["id"] for r in reps})
        owner = next(r for r in reps if r.user["id"] == owned["owner_id"])
        tasks = eventually(lambda: owner.get("/api/v1/activities", params={"lead_id": lead["id"]}).json()["items"],
                           timeout=30)
        assert [t["subject"] for t in tasks] == [f"Follow up Inbound ({lead['company']})"]

        # a complaint -> every support manager hears of it at once
        complaint = admin.post("/api/v1/complaints", json={"subject": "Rude driver", "category": "delivery",
                                                           "requester_email": f"c-{uniq()}@example.com"})
        assert complaint.status_code == 201, complaint.text
        notes = eventually(lambda: [n for n in support_manager.get("/api/v1/notifications").json()["items"]
                                    if n["kind"] == "complaint" and n["record_id"] == complaint.json()["id"]],
                           timeout=30)
        assert notes[0]["title"] == "A complaint was received" and notes[0]["body"] == "Category: delivery"

        # a ticket of an account solved -> a note on the account
        account = admin.post("/api/v1/accounts", json={"name": f"Served {uniq()}", "city": "Berlin"}).json()
        ticket = admin.post("/api/v1/tickets", json={
            "subject": "Printer", "description": "It smokes", "channel": "email", "type": "incident",
            "priority": "normal", "requester_email": f"r-{uniq()}@example.com", "account_id": account["id"]})
        assert ticket.status_code == 201, ticket.text
        assert admin.patch(f"/api/v1/tickets/{ticket.json()['id']}", json={"status": "solved"}).status_code == 200
        notes = eventually(lambda: admin.get("/api/v1/activities", params={"account_id": account["id"],
                                                                            "type": "note"}).json()["items"],
                           timeout=30)
        assert notes[0]["subject"] == f"Ticket {ticket.json()['number']} was solved"
    finally:
        for workflow in enabled:
            admin.patch(f"/api/v1/workflows/{workflow['id']}", json={"active": False})


def test_the_contract_renewal_template_acts_when_the_daily_schedule_finds_a_contract_ending(suite, admin):
    """The scheduled side of the built-in templates: sales' daily run (its timer, run now through its operators'
    call) finds a contract ending within its notice; the template opens a renewal opportunity on the account."""
    from datetime import date, timedelta

    from crm_common.context import Actor
    from crm_common.permissions import BUILTIN_ROLES
    from crm_common.rpcclient import RpcPool

    enabled = admin.post("/api/v1/workflow-templates/contract_renewal/enable", json={})
    assert enabled.status_code == 201, enabled.text
    try:
        ends_on = date.today() + timedelta(days=45)
        account = admin.post("/api/v1/accounts", json={"name": f"Renewing {uniq()}", "city": "Berlin"}).json()
        contract = admin.post("/api/v1/contracts", json={
            "account_id": account["id"], "value": "1200.00", "currency": "EUR", "renewal_notice_days": 60,
            "starts_on": (date.today() - timedelta(days=300)).isoformat(), "ends_on": ends_on.isoformat()})
        assert contract.status_code == 201, contract.text
        signed = admin.patch(f"/api/v1/contracts/{contract.json()['id']}", json={"status": "signed"})
        assert signed.status_code == 200, signed.text

        operator = Actor(user_id=admin.user["id"], roles=("admin",), perms=BUILTIN_ROLES["admin"])
        pool = RpcPool(suite.suite.env["AMQP_URI"], timeout=20, size=1, key_file=suite.suite.env["CRM_BUS_KEY_FILE"])
        try:
            pool.call("sales", "run_daily", actor=operator)
        finally:
            pool.close()

        found = eventually(lambda: admin.get("/api/v1/opportunities", params={"account_id": account["id"]})
                           .json()["items"], timeout=30)
        [renewal] = found
        assert renewal["name"] == f"Renewal of contract ending {ends_on.isoformat()}"
        assert (renewal["amount"], renewal["currency"], renewal["stage"]) == ("1200.00", "EUR", "prospecting")
        assert renewal["expected_close_date"] == ends_on.isoformat()
        # the run ends once its last action's answer is recorded, after the opportunity it opened exists
        runs = eventually(lambda: admin.get(f"/api/v1/workflows/{enabled.json()['id']}/runs",
                                            params={"record_id": contract.json()["id"]}).json()["items"],
                          until=lambda items: items and all(r["status"] not in ("queued", "running") for r in items),
                          timeout=30)
        assert [(r["trigger_type"], r["status"]) for r in runs] == [("sales.contract_expiring.v1", "succeeded")]
    finally:
        admin.patch(f"/api/v1/workflows/{enabled.json()['id']}", json={"active": False})


def test_the_idle_opportunity_template_tells_the_owner_after_its_wait_unless_someone_touched_it(suite, admin):
    """The timed side of the built-in templates: each opportunity's run waits 14 days. Time passes for those runs
    (their due time moved to now in the automation database: the service's sweep timer takes them as it would
    after 14 days); the record is read again from sales: the untouched one's owner is told, the run of the one
    changed meanwhile stops, and says why."""
    from pathlib import Path

    from sqlalchemy import update

    from crm_common.db import make_engine, utcnow
    from crm_automation.models import WorkflowRun

    enabled = admin.post("/api/v1/workflow-templates/opportunity_idle/enable", json={})
    assert enabled.status_code == 201, enabled.text
    workflow_id = enabled.json()["id"]
    env = suite.suite.env
    engine = make_engine(env.get("AUTOMATION_DATABASE_URL") or f"sqlite:///{Path(env['CRM_VAR_DIR']) / 'automation.db'}")
    try:
        rep = admin.as_new_user(["sales_rep"])
        made = [rep.post("/api/v1/opportunities", json={"name": f"Idle {uniq()}", "amount": "500.00", "currency": "EUR",
                                                        "expected_close_date": "2026-12-31"}).json() for _ in range(2)]
        idle, touched = made

        def waiting(record_id, count=1):
            return eventually(lambda: [r for r in admin.get(f"/api/v1/workflows/{workflow_id}/runs",
                                                            params={"record_id": record_id}).json()["items"]
                                       if r["status"] == "waiting"], timeout=30, until=lambda rows: len(rows) == count)
        [run] = waiting(idle["id"])
        assert [s["action"] for s in run["steps"]] == ["wait"] and run["due_at"] > utcnow().isoformat()
        [before] = waiting(touched["id"])
        assert rep.patch(f"/api/v1/opportunities/{touched['id']}", json={"amount": "650.00"}).status_code == 200
        waiting(touched["id"], count=2)  # the change starts a wait of its own

        with engine.begin() as conn:  # 14 days pass for the first runs of both
            conn.execute(update(WorkflowRun).where(WorkflowRun.id.in_([run["id"], before["id"]]))
                         .values(due_at=utcnow()))

        def outcome(run_id):
            return eventually(lambda: admin.get(f"/api/v1/workflow-runs/{run_id}").json(), timeout=30,
                              until=lambda r: r["status"] not in ("waiting", "queued", "running"))
        told = outcome(run["id"])
        assert told["status"] == "succeeded", told
        notes = [n for n in rep.get("/api/v1/notifications").json()["items"] if n["record_id"] == idle["id"]]
        assert [(n["kind"], n["title"]) for n in notes] == [("reminder", f"{idle['name']} has been idle for 14 days")]
        stopped = outcome(before["id"])
        assert stopped["status"] == "skipped" and "no longer met after the wait" in stopped["log"][-1], stopped
        assert not [n for n in rep.get("/api/v1/notifications").json()["items"] if n["record_id"] == touched["id"]]
    finally:
        engine.dispose()
        admin.patch(f"/api/v1/workflows/{workflow_id}", json={"active": False})
