"""The event feed: one global order, an opaque cursor that resumes exactly, type filters, scope, retention."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

import crm_integration_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_integration.domain import feed


def envelope(type_="sales.lead_created.v1", **data):
    return {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": "2026-12-04T10:00:00.000000Z",
            "producer": type_.split(".")[0], "actor": {"user_id": "u-1", "kind": "user", "client_ip": "10.1.2.3"},
            "request_id": "r-1", "entity": "lead", "action": "create", "data": {"id": str(uuid.uuid4()), **data}}


def poll(ctx, **args):
    return c.FeedPage().dump(feed.page(ctx, c.FeedQuery().load(args)))


def test_events_come_back_in_the_order_they_were_kept_with_a_cursor_that_resumes_after_each(session, ctx_as):
    sent = [envelope() for _ in range(5)]
    for e in sent:
        feed.record(session, e)
    admin = ctx_as("admin", "a-1")
    first = poll(admin, limit=2)
    assert [i["event_id"] for i in first["items"]] == [e["event_id"] for e in sent[:2]]
    rest = poll(admin, after=first["next_cursor"])
    assert [i["event_id"] for i in rest["items"]] == [e["event_id"] for e in sent[2:]]
    item = rest["items"][0]
    assert item["data"] == sent[2]["data"] and item["type"] == "sales.lead_created.v1" and item["entity"] == "lead"
    assert item["actor"] == {"user_id": "u-1", "kind": "user"}  # never the client's address
    assert item["occurred_at"] == "2026-12-04T10:00:00.000000Z"


def test_an_empty_page_gives_back_the_cursor_it_was_given_so_a_poller_always_resumes(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    assert poll(admin) == {"items": [], "next_cursor": feed.encode_cursor(0)}
    feed.record(session, envelope())
    page = poll(admin)
    again = poll(admin, after=page["next_cursor"])
    assert again == {"items": [], "next_cursor": page["next_cursor"]}


def test_a_poller_restarted_mid_way_misses_and_repeats_nothing(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    sent, seen, saved = [], [], None
    for batch in range(6):  # events keep arriving while the poller reads pages, stops, starts from its saved cursor
        for _ in range(7):
            e = envelope("service_desk.ticket_opened.v1" if batch % 2 else "sales.lead_created.v1")
            feed.record(session, e)
            sent.append(e["event_id"])
        page = poll(admin, after=saved, limit=4)
        seen += [i["event_id"] for i in page["items"]]
        saved = page["next_cursor"]  # the poller saves its cursor; the next iteration is a fresh process
    while True:
        page = poll(admin, after=saved, limit=5)
        if not page["items"]:
            break
        seen += [i["event_id"] for i in page["items"]]
        saved = page["next_cursor"]
    assert seen == sent


def test_the_same_event_delivered_twice_is_kept_once(session, ctx_as):
    e = envelope()
    assert feed.record(session, e) is not None
    assert feed.record(session, e) is None
    assert len(poll(ctx_as("admin", "a-1"))["items"]) == 1


def test_a_batch_is_kept_in_its_order_after_what_came_before_each_event_once(session, ctx_as):
    before = envelope()
    feed.record(session, before)
    session.commit()
    batch = [envelope(), dict(before), envelope(), envelope()]  # one kept already, by an earlier transaction
    batch.insert(3, dict(batch[0]))  # the same event twice in one batch
    rows = feed.record_many(session, batch)
    assert [r is None for r in rows] == [False, True, False, True, False]  # kept already, and the repeat
    session.commit()
    admin = ctx_as("admin", "a-1")
    items = poll(admin)["items"]
    assert [i["event_id"] for i in items] == [before["event_id"], batch[0]["event_id"], batch[2]["event_id"],
                                              batch[4]["event_id"]]
    after = poll(admin, after=poll(admin, limit=1)["next_cursor"])["items"]  # the cursor of the event before
    assert [i["event_id"] for i in after] == [e["event_id"] for e in (batch[0], batch[2], batch[4])]


def test_types_filter_by_exact_type_and_by_pattern_and_the_cursor_skips_what_was_filtered(session, ctx_as):
    kinds = ["sales.lead_created.v1", "service_desk.ticket_opened.v1", "sales.account_created.v1",
             "marketing.campaign_sent.v1", "sales.lead_created.v1"]
    for k in kinds:
        feed.record(session, envelope(k))
    admin = ctx_as("admin", "a-1")
    sales = poll(admin, types="sales.*")
    assert [i["type"] for i in sales["items"]] == [k for k in kinds if k.startswith("sales.")]
    both = poll(admin, types="sales.account_created.v1, service_desk.ticket_opened.v1")
    assert [i["type"] for i in both["items"]] == ["service_desk.ticket_opened.v1", "sales.account_created.v1"]
    first = poll(admin, types="marketing.*")
    assert len(first["items"]) == 1
    feed.record(session, envelope("marketing.campaign_sent.v1"))
    assert len(poll(admin, types="marketing.*", after=first["next_cursor"])["items"]) == 1


@pytest.mark.parametrize("args, field", [({"after": "not-a-cursor"}, "after"), ({"after": "Zm9vOjE"}, "after"),
                                         ({"types": "sales.*,DROP TABLE"}, "types"), ({"types": "sales..x"}, "types")])
def test_a_foreign_cursor_or_a_malformed_type_is_a_422_naming_the_field(ctx_as, args, field):
    with pytest.raises(ServiceError) as raised:
        poll(ctx_as("admin", "a-1"), **args)
    assert raised.value.code == "validation_failed" and field in raised.value.errors


def test_a_key_with_a_territory_scope_sees_only_that_territorys_events(session, ctx_as):
    feed.record(session, envelope("sales.account_created.v1", territory_id="t-north"))
    feed.record(session, envelope("sales.account_created.v1", territory_id="t-south"))
    feed.record(session, envelope("sales.account_created.v1", owner_id="u-9"))
    north = ctx_as("integration", "k-1", perms={"event_feed": {"read": "territory"}}, territory_ids=("t-north",))
    assert [i["data"]["territory_id"] for i in poll(north)["items"]] == ["t-north"]
    assert len(poll(ctx_as("integration", "k-2"))["items"]) == 3  # the built-in integration role: all
    nobody = ctx_as("sales_rep", "u-1", perms={"event_feed": {"read": "own"}})
    assert poll(nobody)["items"] == []


def test_events_older_than_the_retention_leave_the_feed(session, ctx_as):
    old, new = feed.record(session, envelope()), feed.record(session, envelope())
    old.received_at = utcnow() - timedelta(days=31)
    session.flush()
    assert feed.prune(session, 30) == 1
    assert [i["event_id"] for i in poll(ctx_as("admin", "a-1"))["items"]] == [new.event_id]
