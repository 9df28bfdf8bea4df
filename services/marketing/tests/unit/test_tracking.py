"""Opens, clicks and unsubscribes of a message: people's hits told from machines', the first announced once,
a click only to the message's own link, an unsubscribe that suppresses and withdraws consent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import tokens, tracking
from crm_marketing.models import AudienceActivity, Consent, Suppression, TrackingHit

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
APPLE_PROXY = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def hits(session, kind=None):
    query = select(TrackingHit).order_by(TrackingHit.occurred_at)
    return list(session.execute(query if kind is None else query.where(TrackingHit.kind == kind)).scalars())


def missing(fn, *args, **kwargs):
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == "not_found"


def test_a_persons_first_open_is_announced_once_and_every_open_kept(make_ctx, sent, events, session):
    message = sent(member_id="m-1")
    token = tokens.make("open", message.id)
    assert tracking.hit(make_ctx(), "open", token, "198.51.100.7", BROWSER) == {"url": None, "machine": False}
    tracking.hit(make_ctx(), "open", token, "198.51.100.7", BROWSER)
    assert [(h.kind, h.machine, h.ip) for h in hits(session)] == [("open", False, "198.51.100.7")] * 2
    opened = events.of(c.EMAIL_OPENED)
    assert len(opened) == 1 and opened[0]["message_id"] == message.id and opened[0]["occurred_at"].endswith("Z")
    assert opened[0]["campaign_id"] == message.campaign_id and opened[0]["member_id"] == "m-1"
    act = session.execute(select(AudienceActivity)).scalars().all()
    assert [(a.kind, a.ref_id, a.email_hash) for a in act] == [("email_opened", message.campaign_id,
                                                                message.email_hash)]


@pytest.mark.parametrize("agent", [GMAIL_PROXY, APPLE_PROXY, "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
                                   "Barracuda Sentinel (EE)", "Mimecast-Link-Scanner", "Proofpoint URL Defense bot", ""])
def test_image_proxies_and_scanners_are_kept_as_machines_and_announce_nothing(make_ctx, sent, events, session, agent):
    message = sent()
    assert tracking.hit(make_ctx(), "open", tokens.make("open", message.id), "66.249.84.1", agent)["machine"] is True
    assert [h.machine for h in hits(session)] == [True] and events.of(c.EMAIL_OPENED) == []
    tracking.hit(make_ctx(), "open", tokens.make("open", message.id), "198.51.100.7", BROWSER)
    assert len(events.of(c.EMAIL_OPENED)) == 1  # the person's open after the proxy's is the first human one


def test_a_click_answers_the_messages_own_link_and_a_scanners_click_is_a_machines(make_ctx, sent, events, session):
    message = sent(links=["https://engines.example/a", "https://engines.example/b?x=1&y=2"], ago=3600)
    second = tokens.make("click", message.id, 1)
    assert tracking.hit(make_ctx(), "click", second, "203.0.113.9", BROWSER, head=True) == {
        "url": "https://engines.example/b?x=1&y=2", "machine": True}  # HEAD: a scanner checking the link
    assert tracking.hit(make_ctx(), "click", second, "203.0.113.9", BROWSER)["machine"] is False
    clicked = events.of(c.EMAIL_CLICKED)
    assert len(clicked) == 1 and (clicked[0]["link_index"], clicked[0]["url"]) == (1, "https://engines.example/b?x=1&y=2")
    assert [(h.link_index, h.url, h.machine) for h in hits(session, "click")] == [
        (1, "https://engines.example/b?x=1&y=2", True), (1, "https://engines.example/b?x=1&y=2", False)]
    fresh = sent(email="bob@engines.example", ago=1)  # followed a second after the send: a security scanner
    assert tracking.hit(make_ctx(), "click", tokens.make("click", fresh.id, 0), "203.0.113.9", BROWSER)["machine"]


def test_a_click_never_goes_anywhere_the_message_did_not_link(make_ctx, sent, events, session):
    message = sent(links=["https://engines.example/a", "javascript:alert(1)"])
    ctx = make_ctx()
    missing(tracking.hit, ctx, "click", tokens.make("click", message.id, 2), None, BROWSER)  # no third link
    missing(tracking.hit, ctx, "click", tokens.make("click", message.id, 1), None, BROWSER)  # not a web link
    missing(tracking.hit, ctx, "click", tokens.make("click", message.id), None, BROWSER)  # no index
    missing(tracking.hit, ctx, "click", tokens.make("open", message.id), None, BROWSER)  # an open token
    good = tokens.make("click", message.id, 0)
    forged = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]  # (the last character has unused bits)
    missing(tracking.hit, ctx, "click", forged, None, BROWSER)
    missing(tracking.hit, ctx, "click", tokens.make("click", "6f1c1a8e-7d3b-4a0e-9d8e-3b0b1f2c4d5e", 0), None, BROWSER)
    assert hits(session) == [] and events == []


def test_the_unsubscribe_page_changes_nothing_and_the_post_suppresses_and_withdraws_consent(make_ctx, sent, events,
                                                                                           session):
    message = sent(email="ada@engines.example", member_id="m-1")
    token = tokens.make("unsubscribe", message.id)
    assert tracking.preview_unsubscribe(make_ctx(), {"token": token}) == {
        "address": "a***@engines.example", "topic": None, "unsubscribed": False, "unsubscribed_all": False}
    assert events == [] and session.execute(select(Suppression)).first() is None and hits(session) == []
    assert tracking.unsubscribe(make_ctx(), {"token": token, "user_agent": BROWSER}, client_ip="198.51.100.7") == {
        "address": "a***@engines.example", "topic": None, "unsubscribed": True, "unsubscribed_all": True}
    entry = session.execute(select(Suppression)).scalar_one()
    assert (entry.email, entry.reason, entry.source) == ("ada@engines.example", "unsubscribe", message.campaign_id)
    consent = session.execute(select(Consent)).scalar_one()
    assert (consent.status, consent.channel, consent.ip) == ("opted_out", "email", "198.51.100.7")
    assert consent.source == f"unsubscribe:{message.campaign_id}"
    (gone,) = events.of(c.UNSUBSCRIBED)
    assert (gone["message_id"], gone["suppression_id"], gone["topic"]) == (message.id, entry.id, None)
    assert [t for t, _ in events] == [c.SUPPRESSION_ADDED, c.CONSENT_CHANGED, c.UNSUBSCRIBED]
    events.clear()
    assert tracking.unsubscribe(make_ctx(), {"token": token})["unsubscribed"] is True  # twice is once
    assert events == [] and len(hits(session, "unsubscribe")) == 1
    assert tracking.preview_unsubscribe(make_ctx(), {"token": token})["unsubscribed"] is True
    missing(tracking.unsubscribe, make_ctx(), {"token": tokens.make("open", message.id)})


def topic_campaign(session, topic: str | None = "newsletter") -> str:
    from crm_marketing.models import Campaign
    campaign = Campaign(name=f"{topic} issue", type="email", segment_ids=[], topic=topic)
    session.add(campaign)
    session.flush()
    return campaign.id


def mailable_by(session, email: str, topic: str | None) -> bool:
    from crm_marketing.domain import consents
    from crm_marketing.domain.suppressions import email_hash
    return email_hash(email) in consents.mailable(session, [email_hash(email)], topic)


def test_a_topic_campaigns_link_unsubscribes_from_that_topic_only(make_ctx, sent, events, session):
    from crm_marketing.models import AudienceMember, AudienceTopic
    from crm_marketing.domain.suppressions import email_hash
    ada = AudienceMember(kind="contact", source_id="c-ada", email="ada@engines.example",
                         email_hash=email_hash("ada@engines.example"), first_name="Ada", tags=[], score=0)
    session.add(ada)
    session.add_all([AudienceTopic(contact_id="c-ada", email_hash=ada.email_hash, topic=t, subscribed=True,
                                   changed_at=tracking.utcnow()) for t in ("newsletter", "webinars")])
    session.flush()
    message = sent(email="ada@engines.example", member_id=ada.id, campaign_id=topic_campaign(session))
    token = tokens.make("unsubscribe", message.id)
    shown = {"address": "a***@engines.example", "topic": "newsletter", "unsubscribed": False, "unsubscribed_all": False}
    assert tracking.preview_unsubscribe(make_ctx(), {"token": token}) == shown
    assert tracking.unsubscribe(make_ctx(), {"token": token, "user_agent": BROWSER}, client_ip="198.51.100.7") == {
        **shown, "unsubscribed": True}
    assert session.execute(select(Suppression)).first() is None and session.execute(select(Consent)).first() is None
    assert {(t.topic, t.subscribed) for t in session.execute(select(AudienceTopic)).scalars()} == {
        ("newsletter", False), ("webinars", True)}
    assert not mailable_by(session, "ada@engines.example", "newsletter")  # that topic's next issue skips her
    assert mailable_by(session, "ada@engines.example", "webinars") and mailable_by(session, "ada@engines.example", None)
    (gone,) = events.of(c.UNSUBSCRIBED)
    assert (gone["topic"], gone["suppression_id"], gone["member_id"]) == ("newsletter", None, ada.id)
    assert gone["contact_id"] == "c-ada"  # sales ends its content subscriptions of that contact (its handler)
    assert [t for t, _ in events] == [c.UNSUBSCRIBED]
    events.clear()
    assert tracking.unsubscribe(make_ctx(), {"token": token})["unsubscribed"] is True  # twice is once
    assert events == [] and len(hits(session, "unsubscribe")) == 1

    everything = tracking.unsubscribe(make_ctx(), {"token": token, "scope": "all"}, client_ip="198.51.100.7")
    assert everything == {**shown, "unsubscribed": True, "unsubscribed_all": True}  # the page's second choice
    assert session.execute(select(Suppression.reason)).scalar_one() == "unsubscribe"
    assert session.execute(select(Consent.status)).scalar_one() == "opted_out"
    assert (events.of(c.UNSUBSCRIBED)[0]["topic"], events.of(c.UNSUBSCRIBED)[0]["contact_id"]) == (None, "c-ada")
    assert not mailable_by(session, "ada@engines.example", "webinars")


def test_a_lead_leaves_a_topic_by_its_address_and_a_later_subscription_brings_it_back(make_ctx, sent, session):
    from crm_marketing.domain import topics
    from crm_marketing.models import AudienceTopic
    message = sent(email="cy@engines.example", campaign_id=topic_campaign(session, "events"))
    tracking.unsubscribe(make_ctx(), {"token": tokens.make("unsubscribe", message.id)})
    row = session.execute(select(AudienceTopic)).scalar_one()
    assert (row.contact_id, row.topic, row.subscribed) == (None, "events", False)
    assert not mailable_by(session, "cy@engines.example", "events") and mailable_by(session, "cy@engines.example", "newsletter")
    # sales subscribes the address (as a contact now) to the topic after the click: mailed again
    later = {"topic": "events", "contact_id": "c-cy", "email": "cy@engines.example", "subscribed": True}
    topics.changed(session, later, {"occurred_at": (tracking.utcnow() + timedelta(seconds=5)).isoformat()})
    assert mailable_by(session, "cy@engines.example", "events")


def test_an_unsubscribe_upgrades_a_manual_entry_of_the_address(make_ctx, marketer, sent, session):
    from crm_marketing.domain import suppressions
    manual = suppressions.create(marketer, {"email": "ada@engines.example", "reason": "manual", "note": None,
                                            "source": "api"})
    message = sent(email="ada@engines.example")
    tracking.unsubscribe(make_ctx(), {"token": tokens.make("unsubscribe", message.id)})
    assert (manual.reason, manual.source) == ("unsubscribe", message.campaign_id)


def test_privacy_exports_an_addresss_hits_and_erasure_clears_where_they_came_from(make_ctx, sent, session):
    message = sent(email="ada@engines.example")
    tracking.hit(make_ctx(), "open", tokens.make("open", message.id), "198.51.100.7", BROWSER)
    data, counts = tracking.export(make_ctx(), "Ada@Engines.example")
    assert counts == {"tracking_hits": 1} and data["tracking_hits"][0]["ip"] == "198.51.100.7"
    assert tracking.erase(make_ctx(), "ada@engines.example") == {"tracking_hits": 1}
    (hit,) = hits(session)
    assert (hit.ip, hit.user_agent, hit.kind, hit.message_id) == (None, None, "open", message.id)
    assert tracking.export(make_ctx(), "nobody@engines.example") == ({}, {})
