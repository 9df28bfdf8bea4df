"""Segment rules over the audience, on SQLite in memory: every operator, nesting, behaviour windows, consent,
and the 422 naming each problem of a bad tree by its path."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_marketing.domain import activity, consents, segment_rules, segments
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember

NOW = utcnow()


def person(session, name: str, kind: str = "contact", **values) -> AudienceMember:
    email = values.pop("email", f"{name}@rules.example")
    member = AudienceMember(kind=kind, source_id=f"src-{name}", email=email, email_hash=email_hash(email) if email else None,
                            first_name=name, tags=values.pop("tags", []), score=values.pop("score", 0), **values)
    session.add(member)
    session.flush()
    return member


@pytest.fixture
def people(session):
    found = {
        "ada": person(session, "ada", country="DE", grade="A", industry="software", score=80, tags=["vip", "eu"],
                      account_id="acc-1", lifecycle_stage="customer"),
        "bob": person(session, "bob", country="FR", grade="B", industry="retail", score=40, tags=["eu"],
                      account_id="acc-2"),
        "cy": person(session, "cy", kind="lead", country="US", lead_status="new", score=10, tags=["50%_off"]),
        "dee": person(session, "dee", kind="lead", country=None, lead_status="qualified", score=55, email=None),
    }
    gone = person(session, "gone", country="DE", grade="A")
    gone.deleted_at = NOW
    session.flush()
    return found


def names(session, rules, now=None) -> set[str]:
    segment_rules.check(rules)
    rows = session.execute(segments.members(session, rules, now)).scalars().all()
    assert segments.count(session, rules, now) == len(rows)
    return {m.first_name for m in rows}


def leaf(field, op, value, **extra):
    return {"all": [{"field": field, "op": op, "value": value, **extra}]}


@pytest.mark.parametrize("rule, expected", [
    (("country", "eq", "DE"), {"ada"}),
    (("country", "ne", "DE"), {"bob", "cy", "dee"}),  # ne matches members without a value too
    (("country", "in", ["DE", "FR"]), {"ada", "bob"}),
    (("country", "not_in", ["DE", "FR"]), {"cy", "dee"}),
    (("country", "is_set", False), {"dee"}),
    (("grade", "is_set", True), {"ada", "bob"}),
    (("kind", "eq", "lead"), {"cy", "dee"}),
    (("lead_status", "in", ["new", "qualified"]), {"cy", "dee"}),
    (("industry", "eq", "retail"), {"bob"}),
    (("lifecycle_stage", "eq", "customer"), {"ada"}),
    (("score", "gt", 40), {"ada", "dee"}),
    (("score", "gte", 40), {"ada", "bob", "dee"}),
    (("score", "lt", 40), {"cy"}),
    (("score", "lte", 40), {"bob", "cy"}),
    (("score", "eq", 55), {"dee"}),
    (("score", "ne", 55), {"ada", "bob", "cy"}),
    (("tags", "contains", "eu"), {"ada", "bob"}),
    (("tags", "contains", "e"), set()),  # a whole tag, never a part of one
    (("tags", "contains", "50%_off"), {"cy"}),  # LIKE's wildcards are taken literally
    (("tags", "not_contains", "vip"), {"bob", "cy", "dee"}),
])
def test_each_attribute_operator(session, people, rule, expected):
    assert names(session, leaf(*rule)) == expected


def test_groups_nest(session, people):
    rules = {"any": [{"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]},
                              {"field": "score", "op": "gte", "value": 50}]},
                     {"all": [{"field": "kind", "op": "eq", "value": "lead"},
                              {"any": [{"field": "lead_status", "op": "eq", "value": "qualified"},
                                       {"field": "tags", "op": "contains", "value": "nope"}]}]}]}
    assert names(session, rules) == {"ada", "dee"}


def test_behaviour_within_a_window_by_reference_and_negated(session, people):
    ada, bob, cy = people["ada"], people["bob"], people["cy"]
    activity.record(session, "email_clicked", member_id=ada.id, ref_id="camp-x", occurred_at=NOW - timedelta(days=3))
    activity.record(session, "email_clicked", member_id=bob.id, ref_id="camp-x", occurred_at=NOW - timedelta(days=45))
    activity.record(session, "email_clicked", member_id=cy.id, ref_id="camp-y", occurred_at=NOW - timedelta(days=1))
    activity.record(session, "form_submitted", email_hash=cy.email_hash, ref_id="form-1")  # linked by address
    session.flush()
    clicked_x_30 = {"behaviour": "clicked", "ref_id": "camp-x", "within_days": 30}
    assert names(session, {"all": [clicked_x_30]}, NOW) == {"ada"}
    assert names(session, {"all": [{**clicked_x_30, "within_days": 60}]}, NOW) == {"ada", "bob"}
    assert names(session, {"all": [{"behaviour": "clicked"}]}, NOW) == {"ada", "bob", "cy"}
    assert names(session, {"all": [{**clicked_x_30, "negate": True}]}, NOW) == {"bob", "cy", "dee"}
    assert names(session, {"all": [{"behaviour": "form_submitted", "ref_id": "form-1"}]}, NOW) == {"cy"}
    assert names(session, {"all": [{"behaviour": "opened"}]}, NOW) == set()
    # the window moves with the time the segment is evaluated
    assert names(session, {"all": [clicked_x_30]}, NOW + timedelta(days=28)) == set()


def test_bought_is_an_account_behaviour_its_contacts_share(session, people):
    colleague = person(session, "eve", account_id="acc-1")
    activity.record(session, "order_placed", account_id="acc-1", ref_id="prod-y", occurred_at=NOW - timedelta(days=10))
    activity.record(session, "order_placed", account_id="acc-2", ref_id="prod-z", occurred_at=NOW - timedelta(days=100))
    session.flush()
    assert names(session, {"all": [{"behaviour": "bought", "ref_id": "prod-y"}]}) == {"ada", colleague.first_name}
    assert names(session, {"all": [{"behaviour": "bought", "within_days": 30}]}) == {"ada", "eve"}
    assert names(session, {"all": [{"behaviour": "bought"}]}) == {"ada", "bob", "eve"}
    assert names(session, {"all": [{"behaviour": "bought", "negate": True}, {"field": "kind", "op": "eq",
                                                                             "value": "lead"}]}) == {"cy", "dee"}


def test_an_open_ticket_is_one_opened_or_reopened_and_not_solved_since(session, people):
    ada, bob, cy = people["ada"], people["bob"], people["cy"]
    day = timedelta(days=1)
    activity.record(session, "ticket_opened", member_id=ada.id, ref_id="t-1", occurred_at=NOW - 5 * day)
    activity.record(session, "ticket_solved", member_id=ada.id, ref_id="t-1", occurred_at=NOW - 4 * day)
    activity.record(session, "ticket_opened", member_id=bob.id, ref_id="t-2", occurred_at=NOW - 5 * day)
    activity.record(session, "ticket_solved", member_id=bob.id, ref_id="t-2", occurred_at=NOW - 4 * day)
    activity.record(session, "ticket_opened", member_id=bob.id, ref_id="t-2", occurred_at=NOW - 2 * day)  # reopened
    activity.record(session, "ticket_opened", member_id=cy.id, ref_id="t-3", occurred_at=NOW - 90 * day)
    session.flush()
    assert names(session, {"all": [{"behaviour": "open_ticket"}]}) == {"bob", "cy"}
    assert names(session, {"all": [{"behaviour": "open_ticket", "within_days": 30}]}) == {"bob"}
    assert names(session, {"all": [{"behaviour": "no_open_ticket"}]}) == {"ada", "dee"}
    assert names(session, {"all": [{"behaviour": "ticket_opened", "within_days": 7}]}) == {"ada", "bob"}
    assert names(session, {"all": [{"behaviour": "ticket_solved"}]}) == {"ada", "bob"}


def test_consent_rules(session, make_ctx, people):
    ctx = make_ctx()
    consents.record(ctx, people["ada"].email, "email", "opted_in", "form:1")
    consents.record(ctx, people["bob"].email, "email", "opted_out", "unsubscribe")
    consents.record(ctx, people["bob"].email, "sms", "opted_in", "api")
    email_is = lambda status, op="eq": leaf("consent", op, status, channel="email")  # noqa: E731
    assert names(session, email_is("opted_in")) == {"ada"}
    assert names(session, email_is("opted_out")) == {"bob"}
    assert names(session, email_is("none")) == {"cy", "dee"}
    assert names(session, email_is("opted_out", "ne")) == {"ada", "cy", "dee"}
    assert names(session, leaf("consent", "eq", "opted_in", channel="sms")) == {"bob"}


def test_a_real_segment_mixes_attributes_and_behaviour(session, people):
    activity.record(session, "email_clicked", member_id=people["bob"].id, ref_id="camp-x", occurred_at=NOW)
    activity.record(session, "ticket_opened", member_id=people["ada"].id, ref_id="t-9", occurred_at=NOW)
    session.flush()
    rules = {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]},
                     {"any": [{"field": "grade", "op": "eq", "value": "A"},
                              {"behaviour": "clicked", "ref_id": "camp-x", "within_days": 30}]},
                     {"behaviour": "no_open_ticket"}]}
    assert names(session, rules) == {"bob"}


def problems(rules) -> dict:
    with pytest.raises(ServiceError) as caught:
        segment_rules.check(rules)
    assert caught.value.code == "validation_failed"
    return caught.value.errors


def test_a_bad_tree_is_refused_naming_each_problem_by_its_path():
    errors = problems({"all": [
        {"field": "colour", "op": "eq", "value": "red"},
        {"field": "country", "op": "like", "value": "D%"},
        {"field": "score", "op": "gt", "value": "50"},
        {"field": "country", "op": "in", "value": "DE"},
        {"field": "tags", "op": "contains", "value": ["vip"]},
        {"field": "consent", "channel": "fax", "op": "eq", "value": "maybe"},
        {"behaviour": "danced", "within_days": 0, "negate": "yes", "ref_id": 7},
        {"any": []},
        {"field": "grade", "op": "eq", "value": "A", "extra": 1},
        {"field": "score", "op": "gt", "value": True},
        {"field": "grade", "op": "eq"},
        "grade = A",
    ]})
    assert errors == {
        "rules.all.0.field": [errors["rules.all.0.field"][0]],
        "rules.all.1.op": ["country takes one of: eq, ne, in, not_in, is_set"],
        "rules.all.2.value": ["an integer"],
        "rules.all.3.value": ["a list of 1 to 500 texts (each at most 200 characters)"],
        "rules.all.4.value": ["a text of 1 to 200 characters"],
        "rules.all.5.channel": ["one of: email, sms, phone"],
        "rules.all.5.value": ["one of: opted_in, opted_out, pending, none"],
        "rules.all.6.behaviour": [errors["rules.all.6.behaviour"][0]],
        "rules.all.6.ref_id": [errors["rules.all.6.ref_id"][0]],
        "rules.all.6.within_days": ["an integer from 1 to 3650"],
        "rules.all.6.negate": ["true or false"],
        "rules.all.7.any": ["a list of 1 or more rules"],
        "rules.all.8.extra": ["unknown key"],
        "rules.all.9.value": ["an integer"],
        "rules.all.10.value": ["missing"],
        "rules.all.11": [errors["rules.all.11"][0]],
    }
    assert "colour" not in errors["rules.all.0.field"][0] and "country" in errors["rules.all.0.field"][0]


@pytest.mark.parametrize("rules, path", [
    ({}, "rules"), ([], "rules"), ({"all": []}, "rules.all"), ({"all": [], "any": []}, "rules"),
    ({"none": [{"field": "grade", "op": "eq", "value": "A"}]}, "rules"),
    ({"all": [{"field": "grade", "op": "eq", "value": "A"}] * 51}, "rules.all"),
])
def test_the_root_must_be_one_non_empty_group(rules, path):
    assert path in problems(rules)


def test_groups_nest_five_levels_and_no_deeper():
    tree = {"field": "grade", "op": "eq", "value": "A"}
    for _ in range(5):
        tree = {"all": [tree]}
    segment_rules.check(tree)
    errors = problems({"any": [tree]})
    assert errors == {"rules.any.0.all.0.all.0.all.0.all.0.all": ["groups nest at most 5 levels deep"]}
