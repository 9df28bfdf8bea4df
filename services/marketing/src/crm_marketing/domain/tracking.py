"""What recipients do with a message: opens (the pixel), clicks (the rewritten links), unsubscribes.

Every hit is kept (tracking_hits); hits of image proxies (Gmail, Yahoo, Apple Mail Privacy Protection) and
of link scanners (security gateways that fetch every link as the mail arrives) are marked `machine` and
counted apart from people's. The first human open and click of a message are announced
(marketing.email_opened.v1 / email_clicked.v1) and recorded as the person's activity. A click answers
only a link the message holds (Message.links[index]): the token names the message and the index, never a
URL, so nothing redirects elsewhere. An unsubscribe is an RFC 8058 one-click POST: the address goes on the
suppression list and its consent is withdrawn, except that a topic campaign's link unsubscribes from its topic
only (unless the person chose all mail on the page); the GET only shows what would happen.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, exists, literal, select

import crm_marketing_contracts as c
from crm_common import config
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError, not_found
from crm_marketing.domain import activity, consents, suppressions, tokens, topics
from crm_marketing.models import AudienceMember, Campaign, Message, Suppression, TrackingHit

# user agents of image proxies that fetch the pixel for the reader (or at delivery, Apple MPP)
PROXY_AGENTS = ("googleimageproxy", "ggpht.com", "yahoomailproxy", "yahoo! slurp", "outlook-ios-android-image")
# Apple Mail Privacy Protection fetches with a bare WebKit agent (no Version/Safari): no reader's browser sends it
APPLE_MPP_AGENT = "mozilla/5.0 (macintosh; intel mac os x 10_15_7) applewebkit/605.1.15 (khtml, like gecko)"
# security scanners and bots that follow every link (and fetch every image) of a mail as it arrives
SCANNER_AGENTS = ("barracuda", "mimecast", "proofpoint", "safelinks", "symantec", "messagelabs", "trendmicro",
                  "fortinet", "sophos", "forcepoint", "zscaler", "bot", "spider", "crawler", "scanner",
                  "headlesschrome", "python-requests", "curl/", "wget/", "go-http-client", "java/")
ACTIVITY = {"open": "email_opened", "click": "email_clicked"}
EVENT = {"open": c.EMAIL_OPENED, "click": c.EMAIL_CLICKED}


def scanner_window() -> timedelta:
    """Hits this soon after the send are a scanner's (CRM_TRACKING_SCANNER_SECONDS, default 5)."""
    return timedelta(seconds=config.env_float("CRM_TRACKING_SCANNER_SECONDS", 5.0))


def is_machine(kind: str, user_agent: str | None, head: bool, sent_at) -> bool:
    """An image proxy's or link scanner's hit (kept, counted apart), by its agent, method and time."""
    agent = (user_agent or "").strip().lower()
    if not agent or head:
        return True
    if any(marker in agent for marker in SCANNER_AGENTS):
        return True
    if kind == "open" and (any(marker in agent for marker in PROXY_AGENTS) or agent == APPLE_MPP_AGENT):
        return True
    return sent_at is not None and utcnow() - sent_at < scanner_window()


def _load(ctx, purpose: str, token: str) -> tuple[Message, int | None]:
    """The message a genuine token for `purpose` names (and a click's link index); 404 for anything else."""
    found = tokens.read(purpose, token)
    message = ctx.session.get(Message, found[0]) if found is not None else None
    if message is None:
        raise not_found("link")
    return message, found[1]


def hit(ctx, kind: str, token: str, ip: str | None = None, user_agent: str | None = None,
        head: bool = False) -> dict:
    """Record an open or a click of the message the token names: `{url, machine}`; a click's url is the
    link of the message at the token's index (404 when the token or the index is not the message's)."""
    message, link = _load(ctx, kind, token)
    url = None
    if kind == "click":
        links = message.links or []
        if link is None or not 0 <= link < len(links) or not _web_link(links[link]):
            raise not_found("link")
        url = links[link]
    machine = is_machine(kind, user_agent, head, message.sent_at)
    now = utcnow()
    first = not machine and not message.is_test and not _seen(ctx.session, message.id, kind)
    ctx.session.add(TrackingHit(message_id=message.id, campaign_id=message.campaign_id, variant_id=message.variant_id,
                                kind=kind, link_index=link if kind == "click" else None, url=url, machine=machine,
                                ip=ip, user_agent=(user_agent or "")[:300] or None, occurred_at=now))
    if first:
        data = {"message_id": message.id, "campaign_id": message.campaign_id, "variant_id": message.variant_id,
                "member_id": message.member_id, "occurred_at": rfc3339(now)}
        if kind == "click":
            data.update(link_index=link, url=url)
        ctx.emit(EVENT[kind], data)
        activity.record(ctx.session, ACTIVITY[kind], email_hash=message.email_hash, member_id=message.member_id,
                        ref_id=message.campaign_id, detail={"message_id": message.id, **({"url": url} if url else {})},
                        occurred_at=now)
    ctx.session.flush()
    return {"url": url, "machine": machine}


def track(ctx, data: dict, client_ip: str | None = None) -> dict:
    """The RPC: `{kind, token, user_agent, head}` from the gateway's public routes."""
    return hit(ctx, data["kind"], data["token"], client_ip, data.get("user_agent"), data.get("head", False))


def _seen(session, message_id: str, kind: str) -> bool:
    return session.execute(select(exists().where(TrackingHit.message_id == message_id, TrackingHit.kind == kind,
                                                 TrackingHit.machine.is_(False)))).scalar()


def _web_link(url) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


# -- unsubscribe ---------------------------------------------------------------------------------------

def mask(address: str | None) -> str:
    """a***@example.com: enough for the person to recognise their address, not a directory for anyone else."""
    if not address or "@" not in address:
        return "your address"
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def _suppressed(session, message: Message) -> bool:
    return session.execute(select(exists().where(Suppression.email_hash == message.email_hash,
                                                 Suppression.deleted_at.is_(None),
                                                 Suppression.reason.in_(("unsubscribe", "complaint", "erased"))))
                           ).scalar()


def _topic_of(session, message: Message) -> str | None:
    """The content topic of the message's campaign (None: the campaign is for no topic)."""
    return session.execute(select(Campaign.topic).where(Campaign.id == message.campaign_id)).scalar()


def _state(session, message: Message, topic: str | None) -> dict:
    """What the page says: `unsubscribed` from what the link unsubscribes from (the campaign's topic, or all
    marketing mail), and `unsubscribed_all` apart."""
    everything = _suppressed(session, message)
    left_topic = topic is not None and session.execute(select(consents.topic_unsubscribed(
        literal(message.email_hash, String), topic))).scalar()
    return {"address": mask(message.email), "topic": topic, "unsubscribed": bool(everything or left_topic),
            "unsubscribed_all": bool(everything)}


def preview_unsubscribe(ctx, data: dict, client_ip: str | None = None) -> dict:
    """What the unsubscribe page shows (GET: changes nothing)."""
    message, _ = _load(ctx, "unsubscribe", data["token"])
    return _state(ctx.session, message, _topic_of(ctx.session, message))


def unsubscribe(ctx, data: dict, client_ip: str | None = None) -> dict:
    """The recipient of the message asked to be mailed no more (RFC 8058 one-click POST). A message of a topic
    campaign (`campaigns.topic`) unsubscribes from that topic only (`scope` topic, the default: the address's
    subscriptions to it end, domain.topics.leave; other mail still reaches it); `scope` all, or a message of no
    topic, from all marketing mail: on the suppression list (reason unsubscribe, source the campaign), consent
    opted_out. Either way marketing.unsubscribed.v1 (`topic` names a topic's). Twice is once."""
    message, _ = _load(ctx, "unsubscribe", data["token"])
    topic = _topic_of(ctx.session, message)
    only_topic = topic is not None and data.get("scope", "topic") != "all"
    state = _state(ctx.session, message, topic)
    if state["unsubscribed_all"] or (only_topic and state["unsubscribed"]):
        return state
    now, entry = utcnow(), None
    member = ctx.session.get(AudienceMember, message.member_id) if message.member_id else None
    contact_id = member.source_id if member is not None and member.kind == "contact" else None
    if only_topic:
        topics.leave(ctx.session, message.email_hash, contact_id, topic, now)
    else:
        entry = _suppress(ctx, message)
        if message.email:
            consents.record(ctx, message.email, "email", "opted_out", f"unsubscribe:{message.campaign_id}",
                            ip=client_ip)
    ctx.session.add(TrackingHit(message_id=message.id, campaign_id=message.campaign_id, variant_id=message.variant_id,
                                kind="unsubscribe", machine=False, ip=client_ip,
                                user_agent=(data.get("user_agent") or "")[:300] or None, occurred_at=now))
    activity.record(ctx.session, "unsubscribed", email_hash=message.email_hash, member_id=message.member_id,
                    ref_id=message.campaign_id, detail={"message_id": message.id,
                                                        **({"topic": topic} if only_topic else {})}, occurred_at=now)
    ctx.emit(c.UNSUBSCRIBED, {"message_id": message.id, "campaign_id": message.campaign_id,
                              "member_id": message.member_id, "contact_id": contact_id, "suppression_id": entry.id if entry else None,
                              "topic": topic if only_topic else None, "occurred_at": rfc3339(now)})
    ctx.session.flush()
    return _state(ctx.session, message, topic)


def _suppress(ctx, message: Message) -> Suppression | None:
    """Put the message's address on the list (reason unsubscribe, source the campaign); an entry it has
    already is upgraded (a manual or hard_bounce one) or kept."""
    if not message.email:
        return None
    try:
        return suppressions.create(ctx, {"email": message.email, "reason": "unsubscribe", "note": None,
                                         "source": message.campaign_id})
    except ServiceError as exc:
        if exc.code != "conflict":
            raise
        return ctx.session.get(Suppression, exc.extra.get("existing_id"))



# -- privacy: the hits of an address's messages (its address and agent are personal data) -------------

def _hits_of(session, address: str) -> list[TrackingHit]:
    digest = suppressions.email_hash(c.normalise_email_leniently(address))
    messages = select(Message.id).where(Message.email_hash == digest).scalar_subquery()
    return list(session.execute(select(TrackingHit).where(TrackingHit.message_id.in_(messages))
                                .order_by(TrackingHit.occurred_at)).scalars())


def export(ctx, address: str) -> tuple[dict, dict]:
    """What the recipient did with their messages (data, counts); nothing named when they did nothing."""
    hits = [{"message_id": h.message_id, "campaign_id": h.campaign_id, "kind": h.kind, "url": h.url,
             "machine": h.machine, "ip": h.ip, "user_agent": h.user_agent, "occurred_at": rfc3339(h.occurred_at)}
            for h in _hits_of(ctx.session, address)]
    return ({"tracking_hits": hits}, {"tracking_hits": len(hits)}) if hits else ({}, {})


def erase(ctx, address: str) -> dict:
    """The hits stay counted in their campaign's stats; the address and agent they came from are cleared."""
    hits = _hits_of(ctx.session, address)
    for h in hits:
        h.ip, h.user_agent = None, None
    ctx.session.flush()
    return {"tracking_hits": len(hits)} if hits else {}
