"""Social mentions: the sentiment scorer (English and Chinese), one mention per post, the status flow,
replies sent on to the connector, and a ticket asked of the service desk once."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import mentions, sentiment
from crm_marketing.models import SocialMention

POST = {"network": "twitter", "author_handle": "@ada", "url": "https://twitter.example/ada/status/1",
        "posted_at": "2026-12-01T09:00:00Z"}


def ingest(ctx, text="Loving the new release!", external_id="1", **body):
    return mentions.create(ctx, c.MentionIn().load({**POST, "text": text, "external_id": external_id, **body}))


def refused(fn, *args, code="conflict", **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == code, raised.value
    return raised.value


@pytest.mark.parametrize("text, label", [
    ("I love this product, the support team is great!", "positive"),
    ("Really good onboarding, thanks 👍", "positive"),
    ("Terrible service, my order arrived broken 😡", "negative"),
    ("The app keeps crashing and nobody answers. Worst experience.", "negative"),
    ("Release 4.2 is out today", "neutral"),
    ("It is not good at all", "negative"),
    ("not bad", "positive"),
    ("我很喜欢这个产品，服务很好", "positive"),
    ("太差了，垃圾，我要投诉", "negative"),
    ("不喜欢", "negative"),
    ("不错", "positive"),
    ("今天发布了新版本", "neutral"),
])
def test_sentiment_reads_english_and_chinese_with_negation(text, label):
    value, got = sentiment.score(text)
    assert got == label, (text, value)
    assert -1 <= value <= 1


def test_sentiment_grows_with_strength_and_stays_within_bounds():
    assert sentiment.score("good")[0] < sentiment.score("very good")[0] < sentiment.score("very good, love it")[0]
    assert sentiment.score("bad " * 200)[0] >= -1 and sentiment.score("great " * 200)[0] <= 1
    assert sentiment.score("")[0] == 0.0


def test_a_mention_is_scored_stored_and_announced(ctx_as, events):
    connector = ctx_as("integration", "key-1")
    mention = ingest(connector, text="Terrible support, still waiting for a refund")
    assert (mention.status, mention.sentiment_label, mention.ingested_by, mention.replies) == ("new", "negative", "key-1", [])
    assert mention.sentiment < -0.2
    dumped = c.Mention().dump(mention)
    assert dumped["posted_at"] == "2026-12-01T09:00:00.000000Z" and dumped["ticket_id"] is None
    assert events == [(c.MENTION_RECEIVED, {"id": mention.id, "network": "twitter", "sentiment": mention.sentiment,
                                            "sentiment_label": "negative"})]


def test_the_same_post_twice_is_a_409_naming_the_first(ctx_as, events):
    connector = ctx_as("integration", "key-1")
    first = ingest(connector)
    again = refused(ingest, connector, text="edited text")
    assert again.extra == {"existing_id": first.id}
    assert ingest(connector, network="weibo").id != first.id  # another network, another post
    assert len(events) == 2


def test_two_connectors_racing_past_the_check_still_get_the_409(ctx_as, monkeypatch):
    connector = ctx_as("integration", "key-1")
    first = ingest(connector)
    real, calls = mentions._existing, []

    def not_seen_the_first_time(session, network, external_id):
        calls.append(1)
        return None if len(calls) == 1 else real(session, network, external_id)

    monkeypatch.setattr(mentions, "_existing", not_seen_the_first_time)
    assert refused(ingest, connector).extra["existing_id"] == first.id
    assert connector.session.execute(select(SocialMention)).scalars().all() == [first]


@pytest.mark.parametrize("body, field", [
    ({"network": "Twitter!"}, "network"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"text": ""}, "text"),
    ({"posted_at": "yesterday"}, "posted_at"),
    ({"author_handle": "x" * 101}, "author_handle"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_refused_by_the_contract(body, field):
    with pytest.raises(ValidationError) as raised:
        c.MentionIn().load({**POST, "text": "hi", "external_id": "1", **body})
    assert field in raised.value.messages


def test_the_list_filters_by_status_network_sentiment_and_text(marketer):
    happy = ingest(marketer, text="great product", external_id="a")
    angry = ingest(marketer, text="awful, broken again", external_id="b", network="weibo")
    mentions.update(marketer, angry.id, {"status": "ignored"})

    def ids(**args):
        return [m.id for m in mentions.page(marketer, c.MentionQuery().load(args))["items"]]

    assert ids(sentiment="negative") == [angry.id] and ids(status="new") == [happy.id]
    assert ids(network="weibo") == [angry.id] and ids(q="GREAT") == [happy.id]
    assert set(ids(sort="sentiment")) == {happy.id, angry.id} and ids(sort="sentiment")[0] == angry.id


def test_ignored_comes_back_and_a_handled_mention_stays(marketer, events):
    mention = ingest(marketer)
    ignored = mentions.update(marketer, mention.id, {"status": "ignored"}, expected_version=1)
    assert (ignored.status, ignored.handled_by, ignored.version) == ("ignored", "mk-1", 2)
    assert mentions.update(marketer, mention.id, {"status": "new"}).status == "new"
    refused(mentions.update, marketer, mention.id, {"status": "ignored"}, expected_version=1, code="precondition_failed")
    mentions.reply(marketer, mention.id, {"text": "Thank you!"})
    assert refused(mentions.update, marketer, mention.id, {"status": "ignored"}).extra == {"current_status": "replied"}
    assert [t for t, _ in events].count(c.MENTION_UPDATED) == 2


def test_a_reply_is_recorded_and_sent_on_to_the_connector(marketer, events):
    mention = ingest(marketer, text="Does it run on Linux?")
    replied = mentions.reply(marketer, mention.id, {"text": "Yes, on every major distribution."})
    mentions.reply(marketer, mention.id, {"text": "And on ARM."})
    assert replied.status == "replied" and [r["text"] for r in replied.replies] == [
        "Yes, on every major distribution.", "And on ARM."]
    dumped = c.Mention().dump(replied)["replies"][0]
    assert dumped["replied_by"] == "mk-1" and dumped["replied_at"].endswith("Z")
    assert events[1] == (c.MENTION_REPLY_REQUESTED, {"id": mention.id, "network": "twitter", "external_id": "1",
                                                     "url": POST["url"], "text": "Yes, on every major distribution."})


def test_a_ticket_is_asked_of_the_desk_once_and_the_mention_keeps_its_id(marketer, events):
    mention = ingest(marketer, text="My invoice is wrong, nobody answers", author_handle="ada_l")
    ticketed = mentions.ticket(marketer, mention.id, c.TicketIn().load({"priority": "high"}))
    assert ticketed.status == "ticket" and len(ticketed.ticket_id) == 36
    (asked,) = [data for type_, data in events if type_ == c.MENTION_TICKET_REQUESTED]
    assert asked["ticket_id"] == ticketed.ticket_id and asked["priority"] == "high"
    assert asked["subject"] == "twitter: @ada_l" and "My invoice is wrong" in asked["description"]
    assert asked["requested_by"] == "mk-1"
    again = refused(mentions.ticket, marketer, mention.id, {"priority": "normal"})
    assert again.extra == {"ticket_id": ticketed.ticket_id}
    assert mentions.reply(marketer, mention.id, {"text": "We are on it"}).status == "ticket"


def test_a_role_that_may_only_read_changes_nothing(ctx_as, marketer, events):
    mention = ingest(marketer)
    analyst = ctx_as("analyst", "an-1")
    assert mentions.get(analyst, mention.id).id == mention.id
    refused(mentions.reply, analyst, mention.id, {"text": "hi"}, code="forbidden")
    refused(mentions.ticket, analyst, mention.id, {"priority": "normal"}, code="forbidden")
    assert (mention.status, mention.replies, mention.ticket_id) == ("new", [], None) and len(events) == 1
