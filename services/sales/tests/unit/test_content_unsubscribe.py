"""A contact who unsubscribes with a marketing mail's link leaves sales' content subscriptions too
(marketing.unsubscribed.v1): the topic named (every product's updates of it), or every topic when they left all
marketing mail; the contacts of the same address with them; a redelivered event changes nothing."""
from __future__ import annotations

import pytest

import crm_sales_contracts as c
from crm_common import inbox
from crm_common.entrypoint import dispatch
from crm_common.envelope import make_envelope
from crm_sales import handlers
from crm_sales.domain import content_subscriptions, contacts, products
from crm_sales.models import Base


@pytest.fixture
def people(ctx, team):
    admin = ctx(team["admin"])
    ada, ada_again, bob = (contacts.create(admin, {"first_name": name, "last_name": "Reader", "email": email})
                           for name, email in (("Ada", "ada@engines.example"), ("Ada", "ada@engines.example"),
                                               ("Bob", "bob@engines.example")))
    engine = products.create(admin, {"name": "Engine", "sku": "ENG-1", "unit_price": "10.00", "currency": "EUR"})
    subs = {}
    for who, contact in (("ada", ada), ("ada_again", ada_again), ("bob", bob)):
        for topic in ("newsletter", "events"):
            subs[who, topic] = content_subscriptions.subscribe(admin, {"contact_id": contact.id, "topic": topic})
    subs["ada", "product_updates"] = content_subscriptions.subscribe(admin, {
        "contact_id": ada.id, "topic": "product_updates", "product_id": engine.id})
    return {"ada": ada, "bob": bob, "subs": subs}


def unsubscribed(contact_id: str | None, topic: str | None, n: int = 1) -> dict:
    return make_envelope(handlers.UNSUBSCRIBED, {
        "message_id": f"m-{n}", "campaign_id": "c-1", "member_id": "member-1", "contact_id": contact_id,
        "suppression_id": None, "topic": topic, "occurred_at": "2026-12-04T20:00:00Z"}, "marketing", None, f"req-{n}")


def deliver(ctx, session, envelope: dict) -> bool:
    """What the event stream does with each delivery: the inbox claim, then the handler, in one transaction."""
    if not inbox.claim(session, Base.metadata, envelope):
        return False
    return dispatch(ctx(), envelope, handlers.HANDLERS)


def still_subscribed(subs: dict) -> set:
    return {key for key, entry in subs.items() if entry.subscribed}


def test_a_topic_unsubscribe_ends_that_topic_for_the_address_once(ctx, session, events, people):
    events.clear()
    envelope = unsubscribed(people["ada"].id, "newsletter")
    assert deliver(ctx, session, envelope)
    assert still_subscribed(people["subs"]) == {key for key in people["subs"] if key[1] != "newsletter"} | {
        ("bob", "newsletter")}  # Ada's other topics, and Bob, untouched; her second contact left too
    announced = events.of(c.CONTENT_SUBSCRIPTION_CHANGED)
    assert sorted((d["contact_id"], d["topic"], d["subscribed"]) for d in announced) == sorted(
        (people["subs"][who, "newsletter"].contact_id, "newsletter", False) for who in ("ada", "ada_again"))
    assert {d["email"] for d in announced} == {"ada@engines.example"}  # marketing's consent matches by it

    events.clear()
    assert not deliver(ctx, session, envelope)  # redelivered: the inbox skips it
    assert dispatch(ctx(), unsubscribed(people["ada"].id, "newsletter", n=2), handlers.HANDLERS)  # a second link
    assert events.of(c.CONTENT_SUBSCRIPTION_CHANGED) == []  # nothing left to end: nothing announced


def test_leaving_product_updates_ends_every_products_updates(ctx, session, people):
    assert deliver(ctx, session, unsubscribed(people["ada"].id, "product_updates"))
    assert not people["subs"]["ada", "product_updates"].subscribed
    assert people["subs"]["ada", "newsletter"].subscribed


def test_an_unsubscribe_from_all_mail_ends_every_topic_of_the_address(ctx, session, events, people):
    assert deliver(ctx, session, unsubscribed(people["ada"].id, None))
    assert still_subscribed(people["subs"]) == {("bob", "newsletter"), ("bob", "events")}


def test_a_lead_or_an_unknown_topic_or_contact_changes_nothing(ctx, session, events, people):
    events.clear()
    for n, (contact_id, topic) in enumerate(((None, "newsletter"), (people["ada"].id, "podcasts"),
                                             ("no-such-contact", None)), start=1):
        assert deliver(ctx, session, unsubscribed(contact_id, topic, n=n))
    assert still_subscribed(people["subs"]) == set(people["subs"])
    assert events.of(c.CONTENT_SUBSCRIPTION_CHANGED) == []
