"""Content topics in the audience: sales' content_subscription_changed events kept per contact and topic, the
segments' topic rule over them (and its 422 by path), and their part of a privacy request. SQLite, no broker."""
from __future__ import annotations

import pytest

from crm_common.entrypoint import dispatch
from crm_common.envelope import make_envelope
from crm_common.errors import ServiceError
from crm_common.privacy import PRIVACY_REQUESTED
from crm_marketing import handlers
from crm_marketing.audience_handlers import CONTENT_SUBSCRIPTION_CHANGED
from crm_marketing.domain import consents, segment_rules, segments
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, AudienceTopic

ADA = "ada@topics.example"


def member(session, name: str, kind: str = "contact") -> AudienceMember:
    email = f"{name}@topics.example"
    found = AudienceMember(kind=kind, source_id=f"c-{name}", email=email, email_hash=email_hash(email),
                           first_name=name, tags=[], score=0)
    session.add(found)
    session.flush()
    return found


def changed(ctx, name: str, topic: str, subscribed: bool, at: str = "2026-12-04T10:00:00Z", **extra) -> None:
    data = {"id": f"cs-{name}-{topic}", "contact_id": f"c-{name}", "email": f"{name}@topics.example",
            "topic": topic, "product_id": None, "subscribed": subscribed, **extra}
    envelope = make_envelope(CONTENT_SUBSCRIPTION_CHANGED, data, "sales", None, "req-1")
    envelope["occurred_at"] = at
    assert dispatch(ctx, envelope, handlers.HANDLERS)


def names(session, rules) -> set[str]:
    segment_rules.check(rules)
    return {m.first_name for m in session.execute(segments.members(session, rules)).scalars()}


def topic(op: str, value) -> dict:
    return {"all": [{"field": "topic", "op": op, "value": value}]}


@pytest.fixture
def people(session):
    return {name: member(session, name) for name in ("ada", "bob")} | {"cy": member(session, "cy", kind="lead")}


def test_a_subscribed_contact_is_in_the_topic_segment_and_leaves_it_when_unsubscribed(session, make_ctx, people):
    ctx = make_ctx()
    changed(ctx, "ada", "newsletter", True)
    changed(ctx, "bob", "webinars", True)
    assert names(session, topic("subscribed", "newsletter")) == {"ada"}
    assert names(session, topic("not_subscribed", "newsletter")) == {"bob", "cy"}  # leads too
    changed(ctx, "ada", "newsletter", False, at="2026-12-04T11:00:00Z")
    assert names(session, topic("subscribed", "newsletter")) == set()
    assert session.query(AudienceTopic).count() == 2  # one row per contact and topic, kept


def test_an_older_change_arriving_late_does_not_undo_a_newer_one(session, make_ctx, people):
    ctx = make_ctx()
    changed(ctx, "ada", "events", False, at="2026-12-04T12:00:00Z")
    changed(ctx, "ada", "events", True, at="2026-12-04T09:00:00Z")
    assert names(session, topic("subscribed", "events")) == set()


def test_product_updates_of_any_product_match_and_an_unknown_topic_is_ignored(session, make_ctx, people):
    ctx = make_ctx()
    changed(ctx, "ada", "product_updates", True, product_id="p-1")
    changed(ctx, "bob", "product_updates", True, product_id="p-2")
    changed(ctx, "bob", "product_updates", False, product_id="p-2", at="2026-12-04T10:30:00Z")
    changed(ctx, "bob", "podcasts", True)
    assert names(session, topic("subscribed", "product_updates")) == {"ada"}
    assert session.query(AudienceTopic).filter_by(topic="podcasts").count() == 0


def test_a_campaign_of_a_topic_skips_who_left_it_and_only_for_that_topic(session, make_ctx, people):
    ctx = make_ctx()
    changed(ctx, "ada", "newsletter", True)
    changed(ctx, "ada", "newsletter", False, at="2026-12-04T11:00:00Z")
    changed(ctx, "bob", "newsletter", True)  # another contact's subscription never lets ada in
    changed(ctx, "bob", "product_updates", True, product_id="p-1")
    changed(ctx, "bob", "product_updates", False, product_id="p-2")  # one product left, another kept
    changed(ctx, "ada", "webinars", False, email=None)  # known by the contact only (no address in the event)
    hashes = {name: email_hash(f"{name}@topics.example") for name in ("ada", "bob", "cy")}
    who = {digest: name for name, digest in hashes.items()}

    def skipped(topic_: str | None) -> dict:
        reasons = consents.skip_reasons(session, hashes.values(), topic_)
        return {who[digest]: reason for digest, reason in reasons.items()}

    assert skipped("newsletter") == {"ada": "topic_unsubscribed"}
    assert skipped("webinars") == {"ada": "topic_unsubscribed"}
    assert skipped("product_updates") == {}  # bob still takes one product's updates; cy (a lead) never chose
    assert skipped("events") == {} and skipped(None) == {}
    assert consents.mailable(session, hashes.values(), "newsletter") == {hashes["bob"], hashes["cy"]}


def test_a_bad_topic_rule_is_refused_by_its_path():
    with pytest.raises(ServiceError) as caught:
        segment_rules.check({"all": [{"field": "topic", "op": "subscribed", "value": "podcasts"},
                                     {"field": "topic", "op": "is", "value": "newsletter"},
                                     {"field": "topic", "op": "subscribed", "value": ["newsletter"]}]})
    assert caught.value.code == "validation_failed"
    assert set(caught.value.errors) == {"rules.all.0.value", "rules.all.1.op", "rules.all.2.value"}


def privacy(kind: str) -> dict:
    return make_envelope(PRIVACY_REQUESTED, {"request_id": "pr-1", "kind": kind, "email": " Ada@Topics.example",
                                             "requested_by": "admin"}, "identity", None, "req-9")


def test_export_answers_the_topics_and_erasure_forgets_them(session, make_ctx, events, people):
    ctx = make_ctx()
    changed(ctx, "ada", "newsletter", True)
    changed(ctx, "bob", "newsletter", True)
    events.clear()
    assert dispatch(ctx, privacy("export"), handlers.HANDLERS)
    part = events[-1][1]
    assert part["data"]["audience_topics"] == [{"topic": "newsletter", "product_id": None, "subscribed": True}]
    assert part["counts"]["audience_topics"] == 1
    events.clear()
    assert dispatch(ctx, privacy("erasure"), handlers.HANDLERS)
    assert events[-1][1]["counts"]["audience_topics"] == 1
    assert [t.contact_id for t in session.query(AudienceTopic)] == ["c-bob"]
    assert names(session, topic("subscribed", "newsletter")) == {"bob"}
