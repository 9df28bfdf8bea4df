"""Comments with @mentions on sales records (crm_common.records.comments): cleaned, mentions notified, scoped."""
from __future__ import annotations

import pytest

import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_common.records.comments import mentioned_emails
from crm_sales.domain import opportunities, record_comments


def test_mentions_are_found_once_each():
    assert mentioned_emails("hi @R1@x.test and @r2@x.test, again @r1@x.test; not mail@x.test") == [
        "r1@x.test", "r2@x.test"]


def test_a_comment_mentions_a_colleague_and_is_cleaned(session, team, events, ctx):
    deal = opportunities.create(ctx(team["r1"]), {"name": "Deal", "amount": "1.00", "currency": "EUR"})
    made = record_comments.OPPORTUNITY.create(ctx(team["r1"]), deal.id, {
        "body": "<p>Call them, @R2@x.test</p><script>alert(1)</script>"})
    assert "<script>" not in made["body"] and made["mentions"] == ["r2"]
    [mention] = events.of(c.COMMENT_MENTIONED)
    assert (mention["mentioned_user_id"], mention["record_id"], mention["author_id"]) == ("r2", deal.id, "r1")
    assert events.of(c.RECORD_CHANGED)[-1]["entity"] == "comment"
    listed = record_comments.OPPORTUNITY.list(ctx(team["m1"]), deal.id, {"limit": 10})["items"]
    assert [item["id"] for item in listed] == [made["id"]]

    with pytest.raises(ServiceError) as unknown:
        record_comments.OPPORTUNITY.create(ctx(team["r1"]), deal.id, {"body": "ping @ghost@x.test"})
    assert list(unknown.value.errors) == ["body"]
    with pytest.raises(ServiceError) as hidden:  # another team's rep: the deal is out of scope
        record_comments.OPPORTUNITY.create(ctx(team["r3"]), deal.id, {"body": "hello"})
    assert hidden.value.code == "not_found"
    with pytest.raises(ServiceError):
        record_comments.OPPORTUNITY.list(ctx(team["r3"]), deal.id, {"limit": 10})


def test_the_author_edits_and_deletes_a_comment_others_cannot(session, team, events, ctx):
    deal = opportunities.create(ctx(team["r1"]), {"name": "Deal", "amount": "1.00", "currency": "EUR"})
    made = record_comments.OPPORTUNITY.create(ctx(team["r1"]), deal.id, {"body": "first draft"})
    assert made["edited_at"] is None

    with pytest.raises(ServiceError) as refused:  # the rep's manager sees the deal, but is not the author
        record_comments.OPPORTUNITY.update(ctx(team["m1"]), deal.id, {"body": "hijacked"}, comment_id=made["id"])
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as hidden:  # another team: the deal (and so its comment) is out of scope
        record_comments.OPPORTUNITY.delete(ctx(team["r3"]), deal.id, comment_id=made["id"])
    assert hidden.value.code == "not_found"
    [listed] = record_comments.OPPORTUNITY.list(ctx(team["m1"]), deal.id, {"limit": 10})["items"]
    assert listed["body"] == "first draft" and listed["edited_at"] is None

    edited = record_comments.OPPORTUNITY.update(ctx(team["r1"]), deal.id, {"body": "better, @R2@x.test"},
                                                comment_id=made["id"])
    assert edited["body"] == "better, @R2@x.test" and edited["edited_at"] is not None
    assert edited["mentions"] == ["r2"] and events.of(c.COMMENT_MENTIONED)[-1]["mentioned_user_id"] == "r2"
    audit = events.of(c.RECORD_CHANGED)[-1]
    assert (audit["entity"], audit["id"], audit["action"], audit["changed_fields"]) == (
        "comment", made["id"], "update", ["body"])
    [listed] = record_comments.OPPORTUNITY.list(ctx(team["m1"]), deal.id, {"limit": 10})["items"]
    assert listed["body"] == "better, @R2@x.test" and listed["edited_at"] == edited["edited_at"]

    with pytest.raises(ServiceError) as blank:
        record_comments.OPPORTUNITY.update(ctx(team["r1"]), deal.id, {"body": "<script>x</script>"},
                                           comment_id=made["id"])
    assert list(blank.value.errors) == ["body"]

    record_comments.OPPORTUNITY.delete(ctx(team["admin"]), deal.id, comment_id=made["id"])  # an administrator may
    assert events.of(c.RECORD_CHANGED)[-1]["action"] == "delete"
    assert record_comments.OPPORTUNITY.list(ctx(team["m1"]), deal.id, {"limit": 10})["items"] == []
    with pytest.raises(ServiceError) as gone:
        record_comments.OPPORTUNITY.update(ctx(team["r1"]), deal.id, {"body": "again"}, comment_id=made["id"])
    assert gone.value.code == "not_found"
