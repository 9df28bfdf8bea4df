"""Service and marketing figures from events."""
from __future__ import annotations

import crm_analytics_contracts as c

from crm_analytics.domain import marketing_figures, service_figures


def q(**args):
    return c.FigureQuery().load(args)


def ticket(feed, id_, assignee="ag-1", channel="email", days=0, **extra):
    data = {"id": id_, "number": id_, "status": "new", "priority": "normal", "channel": channel, "type": "question",
            "account_id": "acc-1", "assignee_id": assignee, "sla_policy_id": "p1", **extra}
    feed("service_desk.ticket_opened.v1", data, days)
    return data


def test_service_figures(feed, ctx_as):
    ticket(feed, "t1")
    feed("service_desk.ticket_first_response.v1", {"id": "t1", "number": "t1", "status": "open",
                                                   "first_responded_at": "2026-11-02T11:00:00Z"}, 0.1)
    feed("service_desk.ticket_solved.v1", {"id": "t1", "number": "t1", "status": "solved",
                                           "solved_at": "2026-11-03T09:00:00Z"}, 1)
    feed("service_desk.ticket_reopened.v1", {"id": "t1", "number": "t1", "status": "open"}, 1.5)
    ticket(feed, "t2", channel="phone")
    feed("service_desk.sla_breached.v1", {"id": "t2", "kind": "first_response", "due_at": "2026-11-02T10:00:00Z",
                                          "breached_at": "2026-11-02T10:00:00Z", "policy_id": "p1"}, 0.1)
    ticket(feed, "t3", assignee="ag-2")
    feed("service_desk.survey_answered.v1", {"id": "s1", "ticket_id": "t1", "score": 5, "kind": "csat"}, 2)
    feed("service_desk.survey_answered.v1", {"id": "s2", "ticket_id": "t2", "score": 2, "kind": "csat"}, 2)
    for i, score in enumerate((10, 9, 7, 3)):
        feed("service_desk.survey_answered.v1", {"id": f"n{i}", "score": score, "kind": "nps"}, 2)
    feed("service_desk.complaint_opened.v1", {"id": "c1", "ticket_id": "t2", "status": "open",
                                              "root_cause": "delivery"}, 1)
    answer = service_figures.service(ctx_as("admin", "adm"), q(group_by="channel"))
    totals = answer["totals"]
    assert (totals["opened"], totals["backlog"], totals["reopened"]) == (3, 3, 1)
    assert totals["first_response"] == {"count": 1, "median_hours": 2.0, "p90_hours": 2.0}
    assert totals["resolution"]["median_hours"] == 24.0 and totals["reopen_rate"] == 1.0
    assert totals["sla_compliance"] == round(2 / 3, 4)
    assert totals["sla_by_policy"] == [{"policy_id": "p1", "tickets": 3, "breached": 1, "compliance": round(2 / 3, 4)}]
    assert totals["per_channel"] == {"email": 2, "phone": 1}
    sat = totals["satisfaction"]
    assert (sat["csat_responses"], sat["csat_average"], sat["csat_satisfied"]) == (2, 3.5, 0.5)
    assert (sat["nps_responses"], sat["nps"]) == (4, 25.0)
    assert totals["complaints_by_root_cause"] == [{"root_cause": "delivery", "complaints": 1, "resolved": 0}]
    assert {i["key"]: i["opened"] for i in answer["items"]} == {"email": 2, "phone": 1}
    # an agent sees the tickets assigned to them (tickets carry no team)
    assert service_figures.service(ctx_as("support_agent", "ag-2"), q())["totals"]["opened"] == 1
    assert service_figures.service(ctx_as("sales_rep", "rep"), q())["totals"]["opened"] == 0


def test_marketing_figures_per_campaign_and_variant(feed, ctx_as):
    feed("marketing.campaign_created.v1", {"id": "cmp", "name": "Autumn", "type": "email", "status": "draft",
                                           "actual_cost": "100.00", "currency": "EUR"})
    for i in range(4):
        feed("marketing.email_sent.v1", {"message_id": f"m{i}", "campaign_id": "cmp", "variant_id": "A" if i < 2 else "B",
                                         "email_hash": "x", "is_test": False, "sent_at": "2026-11-02T09:00:00Z"})
    feed("marketing.email_sent.v1", {"message_id": "mt", "campaign_id": "cmp", "variant_id": "A", "email_hash": "x",
                                     "is_test": True, "sent_at": "2026-11-02T09:00:00Z"})
    feed("marketing.email_opened.v1", {"message_id": "m0", "campaign_id": "cmp", "variant_id": "A",
                                       "occurred_at": "2026-11-02T10:00:00Z"})
    feed("marketing.email_clicked.v1", {"message_id": "m0", "campaign_id": "cmp", "variant_id": "A", "link_index": 0,
                                        "url": "https://x.example", "occurred_at": "2026-11-02T10:00:00Z"})
    feed("marketing.email_bounced.v1", {"message_id": "m3", "campaign_id": "cmp", "bounce": "hard", "source": "dsn"})
    feed("marketing.unsubscribed.v1", {"message_id": "m1", "campaign_id": "cmp", "occurred_at": "2026-11-02T10:00:00Z"})
    for i in range(4):
        feed("sales.lead_created.v1", {"id": f"l{i}", "campaign_id": "cmp", "owner_id": "rep"})
    feed("sales.opportunity_created.v1", {"id": "o1", "campaign_id": "cmp", "stage": "closed_won", "amount": "500.00",
                                          "currency": "EUR", "owner_id": "rep", "probability": 100})
    answer = marketing_figures.marketing(ctx_as("marketer", "mk"), q())
    item = answer["items"][0]
    assert (item["sent"], item["opened"], item["clicked"], item["bounced"], item["unsubscribed"]) == (4, 1, 1, 1, 1)
    assert (item["delivered"], item["open_rate"]) == (3, round(1 / 3, 4))
    assert (item["leads"], item["opportunities"], item["won"], item["won_amount"]) == (4, 1, 1, "500.00")
    assert (item["cost_per_lead"], item["roi"]) == ("25.00", "4.0000")
    variants = {i["variant"]: i["sent"] for i in marketing_figures.marketing(ctx_as("admin", "a"),
                                                                             q(group_by="variant"))["items"]}
    assert variants == {"": 0, "A": 2, "B": 2}
    assert marketing_figures.marketing(ctx_as("sales_rep", "rep"), q())["items"] == []


def test_a_campaigns_counts_from_one_batch_add_to_those_before(feed, session, ctx_as):
    import uuid

    from crm_common.context import SYSTEM, Context
    from crm_common.testing.events import Events

    from crm_analytics.domain import log
    feed("marketing.campaign_created.v1", {"id": "cmp", "name": "Winter", "type": "email", "status": "draft"})
    feed("marketing.email_sent.v1", {"message_id": "m0", "campaign_id": "cmp", "variant_id": "A", "is_test": False})

    def event(type_, message, variant="A", test=False):
        return {"event_id": str(uuid.uuid4()), "type": f"marketing.{type_}.v1", "producer": "marketing",
                "occurred_at": "2026-11-02T10:00:00Z", "data": {"message_id": message, "campaign_id": "cmp",
                                                                "variant_id": variant, "is_test": test}}
    log.keep_many(Context(session, SYSTEM, Events(), "r"), [
        event("email_sent", "m1"), event("email_sent", "m2", "B"), event("email_sent", "mt", test=True),
        event("email_opened", "m0"), event("email_opened", "m2", "B"), event("email_clicked", "m2", "B")])
    variants = {i["variant"]: (i["sent"], i["opened"], i["clicked"])
                for i in marketing_figures.marketing(ctx_as("admin", "a"), q(group_by="variant"))["items"]}
    assert variants == {"A": (2, 1, 0), "B": (1, 1, 1)}
