"""The feed's part of a privacy request: an erasure cuts the person's data out of the events about them (those
naming their email, and every event about the same records) and out of the webhook deliveries, keeping each
event at its place; nobody else's events change; an export answers the events found."""
from __future__ import annotations

import json
import uuid

import pytest

from crm_integration import handlers
from crm_integration.domain import feed, privacy, webhooks
from crm_integration.models import Delivery, FeedEvent


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    from crm_common import urlguard
    monkeypatch.setattr(urlguard, "_resolve", lambda host, port: ["93.184.216.34"])


def keep(session, type_, data, actor=None):
    env = {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": "2026-12-04T10:00:00.000000Z",
           "producer": type_.split(".")[0], "actor": actor, "data": data}
    row = feed.record(session, env)
    webhooks.fan_out(session, row)
    return row


@pytest.fixture
def stored(session, ctx_as):
    webhooks.create(ctx_as("admin", "a-1"), {"url": "https://hooks.example.com/in", "events": ["*"], "secret": None,
                                             "active": True, "format": "standard", "description": None})
    return [keep(session, "sales.lead_created.v1", {"id": "L1", "email": "Ada_L@Example.com", "first_name": "Ada"},
                 actor={"user_id": "u-1", "kind": "user", "client_ip": "203.0.113.9"}),
            keep(session, "sales.lead_created.v1", {"id": "L2", "email": "adaxl@example.com", "first_name": "Bob"}),
            keep(session, "sales.lead_assigned.v1", {"id": "L1", "owner_id": "u-2"}),
            keep(session, "identity.privacy_requested.v1", {"request_id": "P1", "kind": "erasure",
                                                             "email": "ada_l@example.com"})]


def payloads(session, model, key):
    return {getattr(row, key): row.envelope for row in session.query(model)}


def test_an_erasure_cuts_the_person_out_of_the_feed_and_the_deliveries_and_keeps_the_order(session, stored):
    counts = privacy.erase(session, "ADA_L@example.com")
    assert counts == {"feed_events": 3, "webhook_deliveries": 3}
    kept = {row.seq: (row.type, row.envelope["data"], row.envelope["actor"]) for row in session.query(FeedEvent)}
    l1, l2, assigned, request = (row.seq for row in stored)
    assert kept == {l1: ("sales.lead_created.v1", {"id": "L1", "erased": True}, {"user_id": "u-1", "kind": "user"}),
                    l2: ("sales.lead_created.v1", {"id": "L2", "email": "adaxl@example.com", "first_name": "Bob"},
                         None),
                    assigned: ("sales.lead_assigned.v1", {"id": "L1", "erased": True}, None),
                    request: ("identity.privacy_requested.v1", {"erased": True}, None)}
    deliveries = {d.event_id: d.envelope["data"] for d in session.query(Delivery)}
    assert deliveries[stored[1].event_id]["first_name"] == "Bob"
    text = json.dumps([payloads(session, FeedEvent, "seq"), payloads(session, Delivery, "id")]).lower()
    assert "ada_l@" not in text and "203.0.113.9" not in text and '"ada"' not in text


def test_the_handler_answers_with_the_part_and_an_export_lists_the_events(session, stored, ctx_as, events):
    ctx = ctx_as("admin", "a-1")
    handlers.privacy_requested(ctx, {"request_id": "P2", "kind": "export", "email": "ada_l@EXAMPLE.com"}, {})
    (part,) = events.of("integration.privacy_part_completed.v1")
    assert (part["service"], part["status"], part["counts"]) == ("integration", "done", {"feed_events": 3})
    assert [(e["type"], e["data"].get("id")) for e in part["data"]["feed_events"]] == [
        ("sales.lead_created.v1", "L1"), ("sales.lead_assigned.v1", "L1"), ("identity.privacy_requested.v1", None)]
    assert "client_ip" not in json.dumps(part["data"])
    handlers.privacy_requested(ctx, {"request_id": "P3", "kind": "erasure", "email": "ada_l@example.com"}, {})
    erased = events.of("integration.privacy_part_completed.v1")[-1]
    assert (erased["data"], erased["counts"]) == (None, {"feed_events": 3, "webhook_deliveries": 3})
