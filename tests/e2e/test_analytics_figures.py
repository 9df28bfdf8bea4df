"""Analytics through the gateway, as a new user would: leads, deals, tickets and a campaign made through the
API show in the figures within seconds, matching counts done by hand; a rep sees their own; bad filters 422;
a rebuild replays the log and the figures stay."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
A = "/api/v1/analytics"


def uniq() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def people(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Figures {uniq()}"}).json()
    return {"team": team, "rep": admin.as_new_user(["sales_rep"], team_id=team["id"]),
            "rep2": admin.as_new_user(["sales_rep"], team_id=team["id"]),
            "manager": admin.as_new_user(["sales_manager"], team_id=team["id"]),
            "agent": admin.as_new_user(["support_agent"]), "marketer": admin.as_new_user(["marketer"]),
            "analyst": admin.as_new_user(["analyst"]), "customer_less": admin.as_new_user(["support_manager"])}


def deal(rep, amount, stage=None, **extra):
    made = rep.post("/api/v1/opportunities", json={"name": f"Deal {uniq()}", "amount": amount, "currency": "EUR",
                                                   "expected_close_date": "2026-12-31", **extra})
    assert made.status_code == 201, made.text
    made = made.json()
    if stage:
        body = {"stage": stage, **({"lost_reason": "budget"} if stage == "closed_lost" else {})}
        moved = rep.patch(f"/api/v1/opportunities/{made['id']}", json=body)
        assert moved.status_code == 200, moved.text
    return made


def figure(client, name, **params):
    response = client.get(f"{A}/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_sales_figures_match_hand_counts_and_a_rep_sees_their_own(people, admin):
    rep, rep2, manager = people["rep"], people["rep2"], people["manager"]
    deal(rep, "1000.00")
    deal(rep, "3000.00", stage="negotiation")
    deal(rep, "2000.00", stage="closed_won")
    deal(rep, "700.00", stage="closed_lost")
    deal(rep2, "400.00")
    me = rep.user["id"]
    pipeline = eventually(lambda: figure(rep, "pipeline"), timeout=20, until=lambda f: f["totals"]["count"] == 2)
    assert pipeline["totals"]["count"] == 2  # the rep's open deals only: not rep2's
    by_stage = {i["stage"]: i for i in pipeline["items"]}
    assert (by_stage["prospecting"]["amount"], by_stage["negotiation"]["amount"]) == ("1000.00", "3000.00")
    assert Decimal(by_stage["negotiation"]["weighted"]) == Decimal("3000.00") * by_stage["negotiation"]["count"] * 75 / 100
    rate = eventually(lambda: figure(rep, "win-rate"), until=lambda f: f["totals"]["won"] + f["totals"]["lost"] == 2)
    assert rate["totals"] == {"won": 1, "lost": 1, "win_rate": 0.5}
    assert rate["items"][0]["average_deal_size"] == "2000.00"
    assert eventually(lambda: figure(rep2, "pipeline"), until=lambda f: f["totals"]["count"] == 1)["totals"]["count"] == 1
    team = eventually(lambda: figure(manager, "pipeline", group_by="owner"), until=lambda f: f["totals"]["count"] == 3)
    assert {i["key"] for i in team["items"]} == {me, rep2.user["id"]}
    for_rep = figure(admin, "pipeline", owner_id=me)
    assert for_rep["totals"]["count"] == 2
    forecast = figure(rep, "forecast", target="4000.00", **{"from": "2026-01-01", "to": "2026-12-31"})
    assert forecast["totals"]["by_currency"][0]["pipeline"] == "4000.00"
    assert forecast["totals"]["by_currency"][0]["closed_won"] == "2000.00" and forecast["totals"]["attainment"] == "50.0"
    cycle = figure(rep, "sales-cycle")
    assert cycle["totals"]["deals"] == 1 and {s["stage"] for s in cycle["time_in_stage"]} >= {"prospecting"}


def test_funnel_from_leads_to_won(people):
    rep = people["rep2"]
    tag = uniq()
    leads = [rep.post("/api/v1/leads", json={"first_name": "Ada", "last_name": f"L-{tag}-{i}", "company": f"Co {tag} {i}",
                                             "email": f"ada-{tag}-{i}@example.com", "source": "referral"}).json()
             for i in range(3)]
    converted = rep.post(f"/api/v1/leads/{leads[0]['id']}/convert", json={"create_opportunity": {
        "name": "From a lead", "amount": "900.00", "currency": "EUR", "expected_close_date": "2026-12-31"}})
    assert converted.status_code == 200, converted.text
    opp = converted.json()["opportunity"]
    assert rep.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "closed_won"}).status_code == 200
    funnel = eventually(lambda: figure(rep, "funnel", group_by="source"),
                        until=lambda f: any(i["key"] == "referral" and i["won"] == 1 for i in f["items"]))
    referral = next(i for i in funnel["items"] if i["key"] == "referral")
    assert (referral["leads"], referral["converted"], referral["opportunities"], referral["won"]) == (3, 1, 1, 1)
    assert referral["conversion"]["lead_to_won"] == round(1 / 3, 4)
    won_by_source = figure(rep, "win-rate", group_by="source")
    assert any(i["key"] == "referral" and i["won"] == 1 for i in won_by_source["items"])


def test_service_figures_over_the_agents_tickets(people, admin):
    agent = people["agent"]
    for channel in ("email", "email", "phone"):
        made = admin.post("/api/v1/tickets", json={"subject": "Broken", "description": "It broke", "channel": channel,
                                                   "requester_email": f"r-{uniq()}@example.com",
                                                   "assignee_id": agent.user["id"]})
        assert made.status_code == 201, made.text
    mine = eventually(lambda: figure(agent, "service"), until=lambda f: f["totals"]["opened"] == 3)
    assert mine["totals"]["opened"] == 3 and mine["totals"]["per_channel"] == {"email": 2, "phone": 1}
    assert mine["totals"]["backlog"] == 3
    assert mine["quantiles"] == {"exact": True, "relative_error": 0.0}  # a few tickets: every time read
    by_admin = figure(admin, "service", owner_id=agent.user["id"], group_by="channel")
    assert {i["key"]: i["opened"] for i in by_admin["items"]} == {"email": 2, "phone": 1}
    assert figure(people["rep"], "service")["totals"]["opened"] == 0  # a rep reads no tickets of others


def test_a_support_agent_counts_the_tickets_the_desk_lists_for_them(people, admin):
    """Assigned to them, opened by them or of a group they belong to (the desk's rule), as the group's members
    change; expected counts written out."""
    manager = people["customer_less"]
    member, opener, outsider = (admin.as_new_user(["support_agent"]) for _ in range(3))
    group = manager.post("/api/v1/groups", json={"name": f"Figures {uniq()}", "assignment": "none",
                                                 "member_ids": [member.user["id"]]})
    assert group.status_code == 201, group.text
    group = group.json()
    for client, body in ((manager, {"group_id": group["id"]}), (manager, {"group_id": group["id"]}), (opener, {})):
        made = client.post("/api/v1/tickets", json={"subject": "Jammed", "description": "It jams", "channel": "email",
                                                    "requester_email": f"r-{uniq()}@example.com", **body})
        assert made.status_code == 201, made.text
        assert made.json()["assignee_id"] is None

    def counts() -> dict:
        return {name: (len(agent.get("/api/v1/tickets", params={"limit": 200}).json()["items"]),
                       figure(agent, "service")["totals"]["opened"])
                for name, agent in (("member", member), ("opener", opener), ("outsider", outsider))}
    expected = {"member": (2, 2), "opener": (1, 1), "outsider": (0, 0)}  # (the desk's list, the figures)
    assert eventually(counts, timeout=20, until=lambda got: got == expected) == expected
    moved = manager.patch(f"/api/v1/groups/{group['id']}", json={"member_ids": [outsider.user["id"]]})
    assert moved.status_code == 200, moved.text
    expected = {"member": (0, 0), "opener": (1, 1), "outsider": (2, 2)}
    assert eventually(counts, timeout=20, until=lambda got: got == expected) == expected


def test_marketing_figures_count_the_campaigns_leads(people):
    marketer = people["marketer"]
    campaign = marketer.post("/api/v1/campaigns", json={"name": f"Fair {uniq()}", "type": "event", "currency": "EUR",
                                                        "actual_cost": "300.00"})
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    for i in range(3):
        made = marketer.post("/api/v1/leads", json={"last_name": f"M-{uniq()}", "company": "Fair Co", "source": "event",
                                                    "email": f"m-{uniq()}@example.com", "campaign_id": cid})
        assert made.status_code == 201, made.text
    answer = eventually(lambda: figure(marketer, "marketing", campaign_id=cid),
                        until=lambda f: f["items"] and f["items"][0]["leads"] == 3)
    item = answer["items"][0]
    assert (item["leads"], item["cost"], item["cost_per_lead"]) == (3, "300.00", "100.00")
    assert figure(people["rep"], "marketing", campaign_id=cid)["items"] == []


def test_bad_filters_are_a_clear_422_and_only_an_admin_rebuilds(people, admin):
    rep = people["rep"]
    for params, field in (({"group_by": "colour"}, "group_by"), ({"from": "2026-12-01", "to": "2026-01-01"}, "to"),
                          ({"from": "yesterday"}, "from"), ({"bogus": "1"}, "bogus")):
        response = rep.get(f"{A}/pipeline", params=params)
        assert response.status_code == 422 and response.headers["Content-Type"].startswith("application/problem+json")
        assert field in response.json()["errors"], (params, response.json())
    refused = rep.get(f"{A}/funnel", params={"group_by": "stage"})
    assert refused.status_code == 422 and "group_by" in refused.json()["errors"]
    assert rep.post(f"{A}/rebuild", json={}).status_code == 403
    assert admin.get("/api/v1/analytics/status").status_code == 200


def test_a_rebuild_replays_the_log_and_the_figures_stay(people, admin):
    before = eventually(lambda: figure(admin, "pipeline", owner_id=people["rep"].user["id"]),
                        until=lambda f: f["totals"]["count"] == 2)
    generation = figure(admin, "status")["generation"]
    started = admin.post(f"{A}/rebuild", json={})
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["Location"].endswith(f"{A}/rebuild/{job['id']}")
    done = eventually(lambda: admin.get(f"{A}/rebuild/{job['id']}").json(), timeout=60,
                      until=lambda j: j["status"] in ("done", "failed"))
    assert done["status"] == "done", done
    status = figure(admin, "status")
    assert status["generation"] != generation and status["events"] >= done["processed"]
    after = figure(admin, "pipeline", owner_id=people["rep"].user["id"])
    assert after["items"] == before["items"]
