"""Webhook rules without a broker: signatures standardwebhooks verifies (two during a rotation), the fan-out,
order per webhook and record, back-off, Retry-After, 410 and the end of the retry window; the delivery log as
clients read it (API.md's statuses), a paused webhook's held backlog, the log's retention, and the sender's
doorbell rung after the consumer's commit."""
from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier, WebhookVerificationError

import crm_integration_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_integration import handlers
from crm_integration.domain import deliveries, feed, signing, webhooks
from crm_integration.domain.deliveries import Answer
from crm_integration.domain.doorbell import DOORBELL
from crm_integration.models import Delivery, FeedEvent

URL = "https://hooks.example.com/in"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    from crm_common import urlguard
    monkeypatch.setattr(urlguard, "_resolve", lambda host, port: ["93.184.216.34"])


def envelope(type_="sales.lead_created.v1", record=None):
    return {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": "2026-12-04T10:00:00.000000Z",
            "producer": type_.split(".")[0], "data": {"id": record or str(uuid.uuid4())}}


def hook(ctx, **body):
    return webhooks.create(ctx, c.webhooks.WebhookIn().load({"url": URL, "events": ["sales.*"], **body}))


def keep(session, env):
    row = feed.record(session, env)
    webhooks.fan_out(session, row)
    return row


def test_a_signature_verifies_with_standardwebhooks_and_a_rotation_signs_with_both_secrets(ctx_as):
    admin = ctx_as("admin", "a-1")
    created = hook(admin)
    assert created["secret"].startswith("whsec_")
    body = signing.body(envelope(), "standard")
    headers = signing.headers("msg_1", int(utcnow().timestamp()), body, created["secret"])
    Verifier(created["secret"]).verify(body, headers)
    rotated = webhooks.rotate_secret(admin, created["id"], {"grace_hours": 24, "secret": None})
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"] is not None
    both = signing.headers("msg_2", int(utcnow().timestamp()), body, rotated["secret"], created["secret"])
    assert len(both["webhook-signature"].split(" ")) == 2
    Verifier(created["secret"]).verify(body, both)  # a receiver still on the old secret
    Verifier(rotated["secret"]).verify(body, both)  # and one already on the new
    with pytest.raises(WebhookVerificationError):
        Verifier(signing.new_secret()).verify(body, both)


def test_cloudevents_format_is_a_cloudevents_1_0_json_event():
    env = envelope()
    body = json.loads(signing.body(env, "cloudevents"))
    assert body["specversion"] == "1.0" and body["id"] == env["event_id"] and body["type"] == env["type"]
    assert body["source"] == "/crm/sales" and body["data"] == env["data"]


@pytest.mark.parametrize("url", ["https://169.254.169.254/x", "https://10.0.0.1/", "https://127.1/", "ftp://x.example/"])
def test_an_unsafe_url_is_a_422_naming_url(ctx_as, url):
    with pytest.raises(ServiceError) as raised:
        hook(ctx_as("admin", "a-1"), url=url)
    assert raised.value.code == "validation_failed" and "url" in raised.value.errors


def test_only_matching_webhooks_get_a_delivery_and_a_record_s_deliveries_go_one_at_a_time(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    sales, desk = hook(admin), hook(admin, events=["service_desk.ticket_opened.v1"])
    keep(session, envelope("marketing.campaign_sent.v1"))
    first, second = keep(session, envelope(record="r-1")), keep(session, envelope(record="r-1"))
    other = keep(session, envelope(record="r-2"))
    jobs = deliveries.claim(session, 10)
    assert [j.envelope["event_id"] for j in jobs] == [first.event_id, other.event_id]  # second waits for first
    assert session.query(Delivery).filter_by(webhook_id=desk["id"]).count() == 0
    deliveries.settle(admin, jobs[0].delivery_id, Answer(500, latency_ms=3))
    deliveries.settle(admin, jobs[1].delivery_id, Answer(204, latency_ms=3))
    assert deliveries.claim(session, 10) == []  # first failed: retried later, second still waits
    later = utcnow() + timedelta(hours=1)
    retried = deliveries.claim(session, 10, now=later)
    assert [j.envelope["event_id"] for j in retried] == [first.event_id]
    deliveries.settle(admin, retried[0].delivery_id, Answer(200, latency_ms=3))
    assert [j.envelope["event_id"] for j in deliveries.claim(session, 10, now=later)] == [second.event_id]
    log = webhooks.deliveries(admin, sales["id"], {"limit": 50, "sort": "created_at"})["items"]
    assert {d["event_id"]: d["status"] for d in log}[first.event_id] == "delivered"


def test_backoff_grows_with_jitter_and_keeps_trying_for_a_day(monkeypatch):
    rng = random.Random(7)
    delays = [deliveries.backoff(n, rng) for n in range(1, 30)]  # attempts go on until the window is over
    assert 2.5 <= delays[0] <= 5 and delays[5] > delays[1] and len(set(delays)) == len(delays)  # jittered
    assert max(delays) <= 3 * 3600 and sum(delays) >= 24 * 3600
    assert deliveries.retry_window() == timedelta(hours=24)


def test_410_disables_at_once_and_a_day_of_failures_kills_the_delivery_and_disables_the_hook(session, ctx_as, events):
    admin = ctx_as("admin", "a-1")
    gone = hook(admin)
    keep(session, envelope())
    job = deliveries.claim(session, 1)[0]
    assert deliveries.settle(admin, job.delivery_id, Answer(410)) == "dead"
    assert webhooks.get(admin, gone["id"])["active"] is False
    assert [e[0] for e in events] == [c.WEBHOOK_DISABLED]
    webhooks.update(admin, gone["id"], {"active": True})
    keep(session, envelope())
    job = deliveries.claim(session, 1)[0]
    start = utcnow()
    assert deliveries.settle(admin, job.delivery_id, Answer(None, error="ConnectionRefusedError"), now=start) == "failed"
    row = session.get(Delivery, job.delivery_id)
    row.next_attempt_at = start
    job = deliveries.claim(session, 1, now=start + timedelta(hours=23, minutes=59))[0]
    assert deliveries.settle(admin, job.delivery_id, Answer(500), now=start + timedelta(hours=24)) == "dead"
    assert webhooks.get(admin, gone["id"])["disabled_reason"].startswith("deliveries failed")


def test_retry_after_of_a_429_or_503_is_honoured(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    hook(admin)
    keep(session, envelope())
    job = deliveries.claim(session, 1)[0]
    now = utcnow()
    deliveries.settle(admin, job.delivery_id, Answer(429, retry_after="120"), now=now)
    assert session.get(Delivery, job.delivery_id).next_attempt_at == now + timedelta(seconds=120)
    assert deliveries.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0.0


def test_manual_retry_sends_a_dead_delivery_again_with_the_same_id_and_a_test_ping_is_queued(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    created = hook(admin)
    keep(session, envelope())
    job = deliveries.claim(session, 1)[0]
    deliveries.settle(admin, job.delivery_id, Answer(410))
    webhooks.update(admin, created["id"], {"active": True})
    again = webhooks.retry(admin, created["id"], job.delivery_id)
    assert again["status"] == "pending" and again["id"] == job.delivery_id
    ping = webhooks.test(admin, created["id"])
    ids = [j.delivery_id for j in deliveries.claim(session, 10)]
    assert set(ids) == {job.delivery_id, ping["id"]}


def test_the_delivery_log_across_webhooks_shows_a_user_those_of_the_webhooks_they_may_read(session, ctx_as):
    own = {"webhook": {"read": "own", "create": "own", "update": "own"}}
    ada, bob = ctx_as("custom", "u-ada", own), ctx_as("custom", "u-bob", own)
    adas, bobs = hook(ada), hook(bob, events=["sales.lead_*"])
    lead = keep(session, envelope(record="r-1"))
    keep(session, envelope("sales.account_created.v1", record="r-2"))
    seen = {name: [(d["webhook_id"], d["event_type"]) for d in webhooks.all_deliveries(ctx, {"limit": 50})["items"]]
            for name, ctx in (("ada", ada), ("bob", bob), ("admin", ctx_as("admin", "a-1")))}
    assert sorted(seen["ada"]) == [(adas["id"], "sales.account_created.v1"), (adas["id"], "sales.lead_created.v1")]
    assert seen["bob"] == [(bobs["id"], "sales.lead_created.v1")]
    assert len(seen["admin"]) == 3
    filtered = webhooks.all_deliveries(ada, {"limit": 50, "event_type": "sales.lead_created.v1"})["items"]
    assert [d["event_id"] for d in filtered] == [lead.event_id]
    assert webhooks.all_deliveries(ada, {"limit": 50, "webhook_id": bobs["id"]})["items"] == []
    with pytest.raises(ServiceError) as hidden:  # and not through the webhook's own log either
        webhooks.deliveries(ada, bobs["id"], {"limit": 50})
    assert hidden.value.code == "not_found"


def test_outcomes_are_settled_together_the_answered_ones_at_once_the_others_by_their_rules(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    hook(admin)
    for _ in range(3):
        keep(session, envelope())
    ok, slow, failed = deliveries.claim(session, 10)
    assert deliveries.settle_many(admin, [(ok.delivery_id, Answer(204, latency_ms=4)),
                                          (slow.delivery_id, Answer(200, latency_ms=900)),
                                          (failed.delivery_id, Answer(500, latency_ms=7))]) == 3
    rows = {d.id: d for d in session.query(Delivery).populate_existing()}
    assert [(rows[j.delivery_id].status, rows[j.delivery_id].response_code, rows[j.delivery_id].latency_ms,
             rows[j.delivery_id].attempts) for j in (ok, slow, failed)] == [
        ("succeeded", 204, 4, 1), ("succeeded", 200, 900, 1), ("failed", 500, 7, 1)]
    assert rows[ok.delivery_id].delivered_at is not None and rows[failed.delivery_id].next_attempt_at is not None
    # an outcome for a delivery no longer being sent (retried by hand meanwhile) changes nothing
    assert deliveries.settle_many(admin, [(ok.delivery_id, Answer(500))]) == 1
    assert session.get(Delivery, ok.delivery_id, populate_existing=True).status == "succeeded"


def statuses(ctx, hook_id, status=None):
    args = {"limit": 50, "sort": "created_at", **({"status": status} if status else {})}
    return [d["status"] for d in webhooks.deliveries(ctx, hook_id, args)["items"]]


def test_the_log_answers_pending_delivered_or_failed_and_filters_by_those_names(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    created = hook(admin)
    for _ in range(4):
        keep(session, envelope())
    ok, retried, gone, sending = deliveries.claim(session, 10)
    deliveries.settle(admin, ok.delivery_id, Answer(204))
    deliveries.settle(admin, retried.delivery_id, Answer(500, error="HTTP 500"))  # a retry planned: pending
    log = {d["id"]: d for d in webhooks.deliveries(admin, created["id"], {"limit": 50})["items"]}
    waiting = log[retried.delivery_id]  # the detail of a pending one is in its other fields
    assert (waiting["status"], waiting["attempts"], waiting["response_code"], waiting["error"]) == (
        "pending", 1, 500, "HTTP 500")
    assert waiting["next_attempt_at"] is not None and log[sending.delivery_id]["attempts"] == 0
    row = session.get(Delivery, gone.delivery_id)
    row.first_attempt_at = utcnow() - timedelta(hours=25)  # the retry window is over: given up
    deliveries.settle(admin, gone.delivery_id, Answer(500))
    assert statuses(admin, created["id"]) == ["delivered", "pending", "failed", "pending"]
    assert statuses(admin, created["id"], "pending") == ["pending", "pending"]
    assert statuses(admin, created["id"], "failed") == ["failed"]
    assert [d["id"] for d in webhooks.all_deliveries(admin, {"limit": 50, "status": "delivered"})["items"]] == [
        ok.delivery_id]
    # giving up disabled the webhook: what still waits has no next attempt until it is switched on again
    assert webhooks.deliveries(admin, created["id"], {"limit": 50, "status": "pending"})["items"][0][
        "next_attempt_at"] is None


def test_a_paused_webhooks_backlog_is_held_out_of_the_claim_and_sent_in_order_once_it_is_on_again(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    paused, live = hook(admin), hook(admin)
    webhooks.update(admin, paused["id"], {"active": False})
    backlog = [keep(session, envelope(record="r-1")) for _ in range(3)]
    held = session.query(Delivery).filter_by(webhook_id=paused["id"]).all()
    assert len(held) == 3 and all(d.next_attempt_at is None for d in held)  # not in the claim's range at all
    claimed = deliveries.claim(session, 10)
    live_ids = {d.id for d in session.query(Delivery).filter_by(webhook_id=live["id"])}
    assert [j.envelope["event_id"] for j in claimed] == [backlog[0].event_id] and claimed[0].delivery_id in live_ids
    assert statuses(admin, paused["id"]) == ["pending"] * 3
    webhooks.update(admin, paused["id"], {"active": True})
    later = utcnow() + timedelta(seconds=1)
    [first] = [j for j in deliveries.claim(session, 10, now=later) if j.envelope["event_id"] == backlog[0].event_id]
    # paused while one of its retries was planned: held too, and due again when switched on
    deliveries.settle(admin, first.delivery_id, Answer(500), now=later)
    webhooks.update(admin, paused["id"], {"active": False})
    assert session.get(Delivery, first.delivery_id, populate_existing=True).next_attempt_at is None
    assert [j for j in deliveries.claim(session, 10, now=later + timedelta(hours=2))
            if j.delivery_id not in live_ids] == []
    webhooks.update(admin, paused["id"], {"active": True})
    again = [j for j in deliveries.claim(session, 10, now=utcnow() + timedelta(seconds=1))
             if j.delivery_id not in live_ids]
    assert [j.envelope["event_id"] for j in again] == [backlog[0].event_id]  # the others still wait behind it


def test_settled_deliveries_older_than_the_retention_are_forgotten_in_batches(session, ctx_as, monkeypatch):
    admin = ctx_as("admin", "a-1")
    hook(admin)
    for _ in range(5):
        keep(session, envelope())
    jobs = deliveries.claim(session, 10)
    for job in jobs[:3]:
        deliveries.settle(admin, job.delivery_id, Answer(200))
    old = utcnow() - timedelta(days=31)
    session.query(Delivery).update({"created_at": old})
    recent = keep(session, envelope())
    [last] = [j for j in deliveries.claim(session, 10) if j.envelope["event_id"] == recent.event_id]
    deliveries.settle(admin, last.delivery_id, Answer(200))
    deliveries.settle(admin, jobs[3].delivery_id, Answer(410))  # given up
    assert deliveries.prune(session, batch=3) == 3
    assert deliveries.prune(session, batch=3) == 1
    assert deliveries.prune(session, batch=3) == 0
    left = session.query(Delivery).all()
    assert sorted(d.status for d in left) == ["sending", "succeeded"]  # the old unsettled one and the recent one
    monkeypatch.setenv("CRM_WEBHOOK_DELIVERY_RETENTION_DAYS", "0")
    assert deliveries.prune(session) == 1 and [d.status for d in session.query(Delivery)] == ["sending"]


def test_the_senders_doorbell_rings_once_the_consumers_transaction_has_committed(session, ctx_as):
    admin = ctx_as("admin", "a-1")
    hook(admin)
    DOORBELL.wait(0)  # quiet
    handlers.every_batch(admin, [envelope(), envelope()])
    assert not DOORBELL.wait(0)  # queued, not committed: a look now would find nothing
    session.commit()
    assert DOORBELL.wait(0)
    session.begin()
    handlers.every_batch(admin, [envelope("billing.invoice_paid.v1")])  # no webhook takes it: no ring
    session.commit()
    assert not DOORBELL.wait(0)
    session.begin()


def test_the_consumers_transaction_settles_and_claims_for_the_sender_once_it_commits(session, ctx_as, monkeypatch):
    import eventlet

    from crm_integration.sender import SendLoop
    admin = ctx_as("admin", "a-1")
    hook(admin)
    session.commit()
    session.begin()
    loop = SendLoop(lambda fn, *args: pytest.fail("no round of the sender's own"), 5)
    sent = []

    def deliver(job):
        sent.append(job.envelope["event_id"])
        loop.done.append((job.delivery_id, Answer(204, latency_ms=1)))
    monkeypatch.setattr(loop, "_deliver", deliver)
    monkeypatch.setattr(DOORBELL, "join", loop.join)
    DOORBELL.wait(0)
    status = lambda env: session.query(Delivery).filter_by(event_id=env["event_id"]).one().status  # noqa: E731

    dropped = envelope(record="L1")
    handlers.every_batch(admin, [dropped])
    session.rollback()  # the consumer's transaction failed: nothing starts
    eventlet.sleep(0)
    assert sent == [] and not loop.ready and not loop.in_round

    session.begin()
    first, second = envelope(record="L1"), envelope(record="L1")
    handlers.every_batch(admin, [first, second])  # claimed here: the first; the second waits behind it
    eventlet.sleep(0)
    assert sent == []  # not before the commit
    session.commit()
    eventlet.sleep(0)
    assert sent == [first["event_id"]] and DOORBELL.wait(0)  # one left unclaimed: the sender is rung

    session.begin()
    third = envelope(record="L2")
    handlers.every_batch(admin, [third])  # settles the first, then claims the second (now first in line) and this
    session.commit()
    eventlet.sleep(0)
    assert sent == [first["event_id"], second["event_id"], third["event_id"]] and not DOORBELL.wait(0)
    assert status(first) == "succeeded" and status(second) == "sending" and loop.settled == 1

    handlers.every_batch(admin, [envelope(record="L3")])  # settles the second and third ... then rolls back
    session.rollback()
    assert len(loop.done) == 2 and not loop.in_round  # the outcomes wait for the next round
    session.begin()
    assert status(second) == "sending"


def test_an_export_s_part_reaches_the_feed_and_webhooks_without_the_person_s_data(session, ctx_as):
    """Every service answers an export with what it holds of the person in its `privacy_part_completed` event, for
    identity to collect: the feed and a webhook taking every sales event get the part without that data
    (`privacy.without_export`), as an erasure's part is; the request and its counts still go."""
    admin = ctx_as("admin", "a-1")
    hook(admin)
    part = {"event_id": str(uuid.uuid4()), "type": "sales.privacy_part_completed.v1", "producer": "sales",
            "occurred_at": "2026-12-05T10:00:00.000000Z",
            "data": {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
                     "data": {"leads": [{"id": "L1", "email": "ada@example.com", "last_name": "Lovelace"}]}}}
    kept = keep(session, part)
    expected = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1}, "data": None}
    assert session.get(FeedEvent, kept.seq).envelope["data"] == expected
    (job,) = deliveries.claim(session, 10)
    assert job.envelope["data"] == expected and "ada@example.com" not in json.dumps(job.envelope)
    assert part["data"]["data"] is not None  # what identity reads of the event is left as it was
