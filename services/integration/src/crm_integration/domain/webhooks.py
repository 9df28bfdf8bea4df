"""Webhook subscriptions: create (the secret shown once), change, rotate the secret, delete; the fan-out of
each kept event to the subscriptions whose patterns match it; the delivery log, a manual retry, a test ping."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, insert, select

from crm_common import scope, urlguard
from crm_common.context import Context
from crm_common.db import new_id, utcnow
from crm_common.envelope import new_event_id, rfc3339
from crm_common.errors import ServiceError, not_found, validation
from crm_common.paging import paginate
from crm_common.versioning import check_version
from crm_integration.domain import feed, signing
from crm_integration.models import PUBLIC_STATUS, Delivery, Webhook, stored_statuses

TEST_TYPE = "integration.webhook_test.v1"


def check_url(url: str) -> None:
    """A URL a delivery may go to (crm_common.urlguard), else a 422 naming `url` and why."""
    try:
        urlguard.check(url)
    except urlguard.UnsafeUrl as exc:
        raise validation({"url": [str(exc)]})


def check_patterns(events: list[str]) -> list[str]:
    cleaned = [e.strip() for e in events]
    bad = [e for e in cleaned if not feed.TYPE_RE.match(e)]
    if bad:
        raise validation({"events": [f"not an event type or pattern: {bad[0][:80]}"]})
    return sorted(set(cleaned))


def to_dict(hook: Webhook, with_secret: bool = False) -> dict:
    data = {"id": hook.id, "version": hook.version, "created_at": hook.created_at, "updated_at": hook.updated_at,
            "url": hook.url, "events": list(hook.events), "active": hook.active, "format": hook.format,
            "description": hook.description, "disabled_reason": hook.disabled_reason, "owner_id": hook.owner_id,
            "secret_rotated_at": hook.secret_rotated_at,
            "previous_secret_expires_at": hook.previous_secret_expires_at if hook.previous_secret else None}
    if with_secret:
        data["secret"] = hook.secret
    return data


def hold(session, hook_id: str) -> int:
    """A paused, disabled or deleted webhook's waiting deliveries lose their due time (test pings excepted): the
    claim, which walks the unsettled deliveries by due time, never reads them however long the backlog. One in
    flight keeps its lease (it is held when settled). How many were held."""
    d = Delivery.__table__
    session.flush()  # a Core statement: the session's own changes first (an attempt just settled)
    return session.execute(d.update().where(
        d.c.webhook_id == hook_id, d.c.status.in_(("pending", "failed")), d.c.next_attempt_at.is_not(None),
        d.c.event_type != TEST_TYPE).values(next_attempt_at=None)).rowcount


def release(session, hook_id: str) -> int:
    """A webhook switched on again: its held deliveries are due now (in feed order per record, as before)."""
    d = Delivery.__table__
    session.flush()
    return session.execute(d.update().where(
        and_(d.c.webhook_id == hook_id, d.c.status.in_(("pending", "failed")), d.c.next_attempt_at.is_(None)))
        .values(next_attempt_at=utcnow())).rowcount


def _get(ctx: Context, record_id: str, action: str = "read") -> Webhook:
    hook = ctx.session.get(Webhook, record_id)
    if hook is None or hook.deleted_at is not None:
        raise not_found("webhook")
    return scope.require(ctx.caller, "webhook", action, hook, "webhook")


def create(ctx: Context, data: dict) -> dict:
    check_url(data["url"])
    hook = Webhook(url=data["url"], events=check_patterns(data["events"]), secret=data.get("secret") or signing.new_secret(),
                   active=data["active"], format=data["format"], description=data.get("description"),
                   owner_id=ctx.caller.user_id)
    ctx.session.add(hook)
    ctx.session.flush()
    ctx.session.info.pop("crm_live_hooks", None)
    return to_dict(hook, with_secret=True)


def get(ctx: Context, record_id: str) -> dict:
    return to_dict(_get(ctx, record_id))


def page(ctx: Context, args: dict) -> dict:
    query = scope.visible(select(Webhook).where(Webhook.deleted_at.is_(None)), ctx.caller, "webhook", "read", Webhook)
    if args.get("active") is not None:
        query = query.where(Webhook.active.is_(args["active"]))
    rows, cursor = paginate(ctx.session, query, Webhook, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), ("created_at",))
    return {"items": [to_dict(h) for h in rows], "next_cursor": cursor}


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> dict:
    hook = _get(ctx, record_id, "update")
    check_version(hook, expected_version)
    if "url" in data:
        check_url(data["url"])
        hook.url = data["url"]
    if "events" in data:
        hook.events = check_patterns(data["events"])
    for name in ("format", "description"):
        if name in data:
            setattr(hook, name, data[name])
    if "active" in data and data["active"] != hook.active:
        hook.active = data["active"]
        if data["active"]:
            hook.disabled_reason = None
            release(ctx.session, hook.id)
        else:
            hold(ctx.session, hook.id)
    ctx.session.flush()
    ctx.session.info.pop("crm_live_hooks", None)
    return to_dict(hook)


def delete(ctx: Context, record_id: str, expected_version: int | None = None) -> None:
    hook = _get(ctx, record_id, "delete")
    check_version(hook, expected_version)
    hook.deleted_at, hook.active = utcnow(), False
    hold(ctx.session, hook.id)
    ctx.session.info.pop("crm_live_hooks", None)


def rotate_secret(ctx: Context, record_id: str, data: dict) -> dict:
    """A new secret; the previous one keeps signing (a second signature) for `grace_hours`."""
    hook = _get(ctx, record_id, "update")
    now = utcnow()
    hook.previous_secret = hook.secret if data["grace_hours"] > 0 else None
    hook.previous_secret_expires_at = now + timedelta(hours=data["grace_hours"]) if data["grace_hours"] > 0 else None
    hook.secret = data.get("secret") or signing.new_secret()
    hook.secret_rotated_at = now
    ctx.session.flush()
    return to_dict(hook, with_secret=True)


def record_key(envelope: dict) -> str:
    """What orders a webhook's deliveries: the record the event is about (its data's id), else the type."""
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    return str(data.get("id") or data.get("request_id") or envelope.get("type"))[:200]


_LIVE_HOOKS = select(Webhook.__table__.c.id, Webhook.__table__.c.events, Webhook.__table__.c.active,
                    Webhook.__table__.c.disabled_reason).where(Webhook.__table__.c.deleted_at.is_(None))


def _live_hooks(session) -> list:
    """The webhooks not deleted, read once per transaction (a batch of events fans out against one reading;
    create, update and delete forget it)."""
    transaction = session.get_transaction()
    cached = session.info.get("crm_live_hooks")
    if cached is None or cached[0] is not transaction:
        session.flush()  # a webhook made or changed in this transaction counts (a Core select does not autoflush)
        cached = (transaction, session.execute(_LIVE_HOOKS).all())
        session.info["crm_live_hooks"] = cached
    return cached[1]


def fan_out(session, row: feed.Kept) -> int:
    """`fan_out_many` of one kept event."""
    return fan_out_many(session, [row])


_INSERT_DELIVERIES = insert(Delivery.__table__)


def fan_out_many(session, rows: list[feed.Kept]) -> int:
    """A pending delivery of each kept event for every live webhook subscribed to its type; how many. One
    multi-row insert for them all (Core: no unit of work). A paused webhook's are held (no due time: the claim
    never walks them) until it is switched on again (`release`); the caller rings the sender's doorbell once
    the transaction commits."""
    hooks = _live_hooks(session)
    if not hooks or not rows:
        return 0
    now = utcnow()
    subscribed: dict[str, list] = {}  # event type -> the webhooks taking it (a batch has few types)
    values = []
    for row in rows:
        targets = subscribed.get(row.type)
        if targets is None:
            targets = subscribed[row.type] = [
                (hook.id, now if hook.active else None) for hook in hooks
                if feed.matches(row.type, list(hook.events)) and (hook.active or hook.disabled_reason is None)]
        if targets:
            key = record_key(row.envelope)
            for hook_id, due in targets:
                values.append({"id": new_id(), "webhook_id": hook_id, "event_id": row.event_id,
                               "event_type": row.type, "seq": row.seq, "record_key": key, "envelope": row.envelope,
                               "status": "pending", "attempts": 0, "next_attempt_at": due, "created_at": now})
    if values:
        session.connection().execute(_INSERT_DELIVERIES, values)
    return len(values)


def delivery_dict(d: Delivery) -> dict:
    return {"id": d.id, "webhook_id": d.webhook_id, "event_id": d.event_id, "event_type": d.event_type,
            "status": PUBLIC_STATUS[d.status], "attempts": d.attempts, "response_code": d.response_code,
            "latency_ms": d.latency_ms,
            "error": d.error, "next_attempt_at": d.next_attempt_at if d.status in ("pending", "failed") else None,
            "created_at": d.created_at, "delivered_at": d.delivered_at}


def deliveries(ctx: Context, record_id: str, args: dict) -> dict:
    hook = _get(ctx, record_id)
    query = select(Delivery).where(Delivery.webhook_id == hook.id)
    if args.get("status"):
        query = query.where(Delivery.status.in_(stored_statuses(args["status"])))
    rows, cursor = paginate(ctx.session, query, Delivery, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), ("created_at",))
    return {"items": [delivery_dict(d) for d in rows], "next_cursor": cursor}


def all_deliveries(ctx: Context, args: dict) -> dict:
    """The delivery log across webhooks: only those of webhooks the caller may read (scope on the webhook)."""
    query = scope.visible(select(Delivery).join(Webhook, Webhook.id == Delivery.webhook_id)
                          .where(Webhook.deleted_at.is_(None)), ctx.caller, "webhook", "read", Webhook)
    if args.get("status"):
        query = query.where(Delivery.status.in_(stored_statuses(args["status"])))
    if args.get("event_type"):
        query = query.where(Delivery.event_type == args["event_type"])
    if args.get("webhook_id"):
        query = query.where(Delivery.webhook_id == args["webhook_id"])
    rows, cursor = paginate(ctx.session, query, Delivery, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), ("created_at",))
    return {"items": [delivery_dict(d) for d in rows], "next_cursor": cursor}


def retry(ctx: Context, record_id: str, name: str) -> dict:
    """Try a delivery again now, whatever its state but one in flight (its webhook-id stays the same)."""
    hook = _get(ctx, record_id, "update")
    delivery = ctx.session.get(Delivery, name)
    if delivery is None or delivery.webhook_id != hook.id:
        raise not_found("delivery")
    if delivery.status == "sending":
        raise ServiceError("conflict", "the delivery is being sent now")
    delivery.status, delivery.first_attempt_at = "pending", None
    # due now; held while the webhook is paused (a test ping goes even then)
    delivery.next_attempt_at = utcnow() if hook.active or delivery.event_type == TEST_TYPE else None
    ctx.session.flush()
    return delivery_dict(delivery)


def test(ctx: Context, record_id: str) -> dict:
    """Queue a ping to the webhook (sent even while it is disabled, so a fixed receiver can be checked)."""
    hook = _get(ctx, record_id, "update")
    now = utcnow()
    event_id = new_event_id()
    envelope = {"event_id": event_id, "type": TEST_TYPE, "occurred_at": rfc3339(now), "producer": "integration",
                "entity": None, "action": None, "data": {"webhook_id": hook.id, "message": "a test ping"}}
    delivery = Delivery(id=new_id(), webhook_id=hook.id, event_id=event_id, event_type=TEST_TYPE, seq=0,
                        record_key=f"test:{event_id}", envelope=envelope, status="pending", attempts=0,
                        next_attempt_at=now, created_at=now)
    ctx.session.add(delivery)
    ctx.session.flush()
    return delivery_dict(delivery)
