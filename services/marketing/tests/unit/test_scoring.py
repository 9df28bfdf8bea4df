"""Lead scoring: rules checked against their kind, attribute and behaviour points, linear decay, the cap,
an explanation that sums to the score, what reaches sales, and the sweep that finds stale scores."""
from __future__ import annotations

from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_marketing.domain import activity, scoring, score_rules
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, LeadScore


def rule(ctx, **body):
    return scoring.create(ctx, c.ScoringRuleIn().load(body))


def lead(session, **values) -> AudienceMember:
    values.setdefault("source_id", f"lead-{len(session.new) + session.query(AudienceMember).count()}")
    email = values.pop("email", None)
    member = AudienceMember(kind="lead", email=email, email_hash=email_hash(email) if email else None, score=0,
                            tags=values.pop("tags", []), **values)
    session.add(member)
    session.flush()
    return member


def did(session, member, kind, days_ago=0.0, ref_id=None, detail=None):
    activity.record(session, kind, member_id=member.id, ref_id=ref_id, detail=detail,
                    occurred_at=utcnow() - timedelta(days=days_ago))
    session.flush()


def refused(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == "validation_failed", raised.value
    return raised.value


def changes(events):
    return [data for type_, data in events if type_ == c.SCORE_CHANGED]


def test_attribute_rules_add_up_and_the_explanation_names_each(marketer, events):
    software = rule(marketer, name="Software", kind="attribute", points=30,
                    condition={"field": "industry", "op": "eq", "value": "software"})
    rule(marketer, name="Nordics", kind="attribute", points=20,
         condition={"field": "country", "op": "in", "value": ["SE", "NO", "DK", "FI"]})
    chief = rule(marketer, name="Chief", kind="attribute", points=15,
                 condition={"any": [{"field": "title", "op": "contains", "value": "chief"},
                                    {"field": "title", "op": "starts_with", "value": "CTO"}]})
    rule(marketer, name="Not us", kind="attribute", points=-50,
         condition={"field": "email_domain", "op": "eq", "value": "competitor.example"})
    ada = lead(marketer.session, industry="Software", country="SE", title="Chief Engines Officer",
               email="ada@engines.example")
    row = scoring.rescore(marketer, ada.id)
    assert row.score == 65 and sum(p["points"] for p in row.points) == 65
    assert [(p["rule_id"], p["points"]) for p in row.points if p["rule"] != "Nordics"] == [(software.id, 30), (chief.id, 15)]
    assert row.points[0]["detail"] == "industry eq software"
    assert changes(events) == [{"lead_id": ada.source_id, "score": 65, "previous": None}]
    assert ada.score == 65  # marketing's copy follows what it sent


def test_behaviour_points_decay_linearly_and_count_at_most_the_cap(marketer):
    rule(marketer, name="Clicks", kind="behaviour", points=10, decay_days=10, max_occurrences=3,
         condition={"behaviour": "email_clicked"})
    ada = lead(marketer.session)
    for days in (0, 5, 5, 9.9, 20):  # the two oldest fall beyond the cap; the 20-day one is gone anyway
        did(marketer.session, ada, "email_clicked", days_ago=days)
    row = scoring.rescore(marketer, ada.id)
    (entry,) = row.points
    assert entry["points"] == round(10 + 5 + 5) == row.score == 20
    assert entry["decayed_from"] == 30 and "3 × email_clicked" in entry["detail"]


def test_decay_is_linear_to_nothing():
    now = utcnow()
    assert score_rules.decayed(10, 10, now, now) == 10
    assert score_rules.decayed(10, 10, now - timedelta(days=5), now) == pytest.approx(5)
    assert score_rules.decayed(-20, 4, now - timedelta(days=1), now) == pytest.approx(-15)
    assert score_rules.decayed(10, 10, now - timedelta(days=11), now) == 0
    assert score_rules.decayed(10, None, now - timedelta(days=900), now) == 10


def test_behaviour_conditions_filter_by_ref_window_and_detail(marketer):
    rule(marketer, name="Pricing form, big budget", kind="behaviour", points=25,
         condition={"behaviour": "form_submitted", "ref_id": "form-1", "within_days": 30,
                    "where": {"field": "budget", "op": "in", "value": ["100k+", "1m+"]}})
    ada = lead(marketer.session)
    did(marketer.session, ada, "form_submitted", ref_id="form-1", detail={"fields": {"budget": "100k+"}})
    did(marketer.session, ada, "form_submitted", ref_id="form-2", detail={"fields": {"budget": "1m+"}})
    did(marketer.session, ada, "form_submitted", ref_id="form-1", detail={"fields": {"budget": "10k"}})
    did(marketer.session, ada, "form_submitted", ref_id="form-1", days_ago=31, detail={"fields": {"budget": "1m+"}})
    assert scoring.rescore(marketer, ada.id).score == 25


def test_activity_recorded_before_the_lead_was_known_counts_by_its_address(marketer):
    rule(marketer, name="Opens", kind="behaviour", points=5, condition={"behaviour": "email_opened"})
    activity.record(marketer.session, "email_opened", email_hash=email_hash("early@engines.example"))
    ada = lead(marketer.session, email="early@engines.example")
    assert scoring.rescore(marketer, ada.id).score == 5


def test_the_score_is_clamped_and_the_clamp_is_an_entry_so_the_points_sum_to_it(marketer):
    for n in range(3):
        rule(marketer, name=f"Big {n}", kind="attribute", points=60, condition={"field": "grade", "op": "eq", "value": "A"})
    rule(marketer, name="Bounced", kind="behaviour", points=-100, condition={"behaviour": "bounced"})
    big, bounced = lead(marketer.session, grade="A"), lead(marketer.session, grade="B")
    did(marketer.session, bounced, "bounced")
    high, low = scoring.rescore(marketer, big.id), scoring.rescore(marketer, bounced.id)
    assert (high.score, low.score) == (100, 0)
    for row in (high, low):
        assert sum(p["points"] for p in row.points) == row.score
    assert high.points[-1] == {"rule_id": None, "rule": "a score is 0 to 100", "points": -80,
                               "detail": "the rules gave 180; the score is kept to 0..100"}


def test_a_lead_no_rule_applies_to_keeps_its_sales_score_until_a_rule_gave_it_points(marketer, events):
    rule(marketer, name="Software", kind="attribute", points=40,
         condition={"field": "industry", "op": "eq", "value": "Software"})
    other = lead(marketer.session, industry="Retail")
    row = scoring.rescore(marketer, other.id)
    assert (row.score, row.points, row.sent_score) == (0, [], None) and changes(events) == []
    assert scoring.lead_score(marketer, other.source_id)["sent_to_sales"] is False
    ada = lead(marketer.session, industry="Software")
    scoring.rescore(marketer, ada.id)
    scoring.rescore(marketer, ada.id)  # the same score: nothing sent again
    ada.industry = "Retail"
    marketer.session.flush()
    scoring.rescore(marketer, ada.id)  # no rule applies any more: back to 0, and sales is told
    assert changes(events) == [{"lead_id": ada.source_id, "score": 40, "previous": None},
                               {"lead_id": ada.source_id, "score": 0, "previous": 40}]
    explained = scoring.lead_score(marketer, ada.source_id)
    assert (explained["score"], explained["points"], explained["sent_to_sales"]) == (0, [], True)


def test_contacts_and_converted_leads_are_not_scored(marketer):
    rule(marketer, name="Any", kind="attribute", points=10, condition={"field": "country", "op": "exists"})
    contact = lead(marketer.session, country="SE")
    contact.kind = "contact"
    gone = lead(marketer.session, country="SE", deleted_at=utcnow())
    assert scoring.rescore(marketer, contact.id) is None and scoring.rescore(marketer, gone.id) is None
    with pytest.raises(ServiceError) as raised:
        scoring.lead_score(marketer, gone.source_id)
    assert raised.value.code == "not_found"


@pytest.mark.parametrize("kind, condition, error", [
    ("attribute", {"field": "salary", "op": "eq", "value": 1}, "field must be one of"),
    ("attribute", {"field": "country", "op": "like", "value": "S%"}, "op must be one of"),
    ("attribute", {"field": "country", "op": "in", "value": "SE"}, "in takes a list"),
    ("attribute", {"field": "country", "op": "exists", "value": "SE"}, "exists takes no value"),
    ("attribute", {"field": "title", "op": "contains", "value": ""}, "contains takes a text"),
    ("attribute", {"all": []}, "a group is"),
    ("attribute", {"all": [{"any": [{"all": [{"field": "country", "op": "exists"}]}]}]}, "groups nest at most"),
    ("attribute", {"behaviour": "email_opened"}, "unknown keys behaviour"),
    ("attribute", {}, "a condition is a non-empty object"),
    ("behaviour", {"behaviour": "dancing"}, "behaviour must be one of"),
    ("behaviour", {"behaviour": "email_opened", "within_days": 0}, "within_days is a whole number"),
    ("behaviour", {"behaviour": "email_opened", "where": "budget"}, "where is a leaf"),
    ("behaviour", {"field": "country", "op": "exists"}, "unknown keys field, op"),
])
def test_a_condition_that_does_not_fit_its_kind_is_a_422_naming_the_problem(marketer, events, kind, condition, error):
    problem = refused(rule, marketer, name="Bad", kind=kind, points=5, condition=condition)
    assert any(error in message for message in problem.errors["condition"]), problem.errors
    assert events == []


def test_decay_and_cap_belong_to_behaviour_rules_and_points_stay_in_range(marketer):
    problem = refused(rule, marketer, name="Bad", kind="attribute", points=5, decay_days=30,
                      condition={"field": "country", "op": "exists"})
    assert set(problem.errors) == {"decay_days"}
    with pytest.raises(ValidationError) as raised:
        c.ScoringRuleIn().load({"name": "", "kind": "mood", "points": 101, "condition": [], "colour": "red"})
    assert set(raised.value.messages) == {"name", "kind", "points", "condition", "colour"}


def test_rules_are_listed_changed_and_deleted_and_each_change_is_announced(marketer, events):
    first = rule(marketer, name="Opens", kind="behaviour", points=5, condition={"behaviour": "email_opened"})
    rule(marketer, name="Country", kind="attribute", points=5, condition={"field": "country", "op": "exists"})
    behaviour = scoring.page(marketer, c.ScoringRuleQuery().load({"kind": "behaviour"}))
    assert [r.id for r in behaviour["items"]] == [first.id]
    changed = scoring.update(marketer, first.id, c.ScoringRuleUpdate().load({"points": 8, "decay_days": 30}),
                             expected_version=1)
    assert (changed.points, changed.decay_days, changed.version) == (8, 30, 2)
    with pytest.raises(ServiceError) as stale:
        scoring.update(marketer, first.id, {"points": 9}, expected_version=1)
    assert stale.value.code == "precondition_failed"
    refused(scoring.update, marketer, first.id, {"condition": {"behaviour": "dancing"}})
    scoring.delete(marketer, first.id)
    with pytest.raises(ServiceError):
        scoring.get(marketer, first.id)
    assert [t for t, _ in events] == [c.SCORING_RULE_CREATED, c.SCORING_RULE_CREATED, c.SCORING_RULE_UPDATED,
                                      c.SCORING_RULE_DELETED]
    assert events[2][1]["changed_fields"] == ["points", "decay_days"]


def test_the_sweep_finds_new_leads_changed_leads_new_activity_and_a_rule_change(marketer, events):
    session = marketer.session
    assert scoring.stale_members(session, 10) == []  # no rule: nothing to score
    opens = rule(marketer, name="Opens", kind="behaviour", points=5, condition={"behaviour": "email_opened"})
    ada, bob = lead(session), lead(session)
    assert sorted(scoring.stale_members(session, 10)) == sorted([ada.id, bob.id])
    assert scoring.sweep(marketer) == 2 and scoring.stale_members(session, 10) == []
    did(session, ada, "email_opened")
    bob.country = "SE"
    session.flush()
    assert sorted(scoring.stale_members(session, 10)) == sorted([ada.id, bob.id])
    scoring.sweep(marketer)
    assert scoring.lead_score(marketer, ada.source_id)["score"] == 5
    assert scoring.stale_members(session, 10) == []
    later = utcnow() + timedelta(seconds=1)
    assert scoring.stale_members(session, 10, now=later) == []
    opens.updated_at = later  # a rule changed: every lead is rescored
    session.flush()
    assert sorted(scoring.stale_members(session, 10, now=later)) == sorted([ada.id, bob.id])
    day_later = utcnow() + timedelta(days=1, seconds=5)  # a day on: decay
    scoring.sweep(marketer)
    assert sorted(scoring.stale_members(session, 10, now=day_later)) == sorted([ada.id, bob.id])


def test_an_erasure_removes_the_score_and_an_export_shows_it(marketer):
    rule(marketer, name="Any", kind="attribute", points=10, condition={"field": "country", "op": "exists"})
    ada = lead(marketer.session, email="ada@engines.example", country="SE")
    scoring.rescore(marketer, ada.id)
    data, counts = scoring.export(marketer, "ADA@engines.example")
    assert counts == {"lead_scores": 1} and data["lead_scores"][0]["score"] == 10
    assert scoring.erase(marketer, "ada@engines.example") == {"lead_scores": 1}
    assert marketer.session.execute(select(LeadScore)).scalars().all() == []


def test_a_lead_from_sales_is_scored_as_it_arrives_and_as_it_changes(make_ctx, marketer, events):
    from crm_common.entrypoint import dispatch
    from crm_marketing import handlers

    rule(marketer, name="Software", kind="attribute", points=40,
         condition={"field": "industry", "op": "eq", "value": "Software"})
    system = make_ctx()
    data = {"id": "lead-77", "last_name": "Lovelace", "email": "Ada@Engines.example", "industry": "Software",
            "status": "new", "phone": "+44 20"}
    assert dispatch(system, {"type": "sales.lead_created.v1", "data": data}, handlers.HANDLERS)
    dispatch(system, {"type": "sales.lead_updated.v1", "data": {"id": "lead-77", "industry": "Retail",
                                                               "changed_fields": ["industry"]}}, handlers.HANDLERS)
    assert changes(events) == [{"lead_id": "lead-77", "score": 40, "previous": None},
                               {"lead_id": "lead-77", "score": 0, "previous": 40}]
    member = marketer.session.execute(select(AudienceMember).where(AudienceMember.source_id == "lead-77")).scalar_one()
    assert (member.email, member.email_hash, member.last_name) == (
        "ada@engines.example", email_hash("ada@engines.example"), "Lovelace")
