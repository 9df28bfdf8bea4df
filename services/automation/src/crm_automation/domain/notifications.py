"""Notifications: each user's in-app inbox (unread count, mark read, read all), email (one message each, or
a digest), and the preferences per kind and channel that decide which. Everything here is the caller's own:
another user's notification is a 404."""
from __future__ import annotations

import contextlib
import functools
import operator
from datetime import timedelta
from email.message import EmailMessage
from typing import NamedTuple

from sqlalchemy import bindparam, exists, func, insert, select, update

from crm_common import config, paging
from crm_common.bulk import rows_insert
from crm_common.db import new_ordered_id
from crm_common.errors import ServiceError
from crm_automation import clock
from crm_automation.domain.drafts import as_written, write_new
from crm_automation.models import Notification, NotificationPreference, UserAddress
from crm_automation_contracts import notifications as c

DEFAULT = {"in_app": True, "email": True}  # a kind nobody set is shown and emailed, one message each


def _user(ctx) -> str:
    if not ctx.caller.user_id:
        raise ServiceError("forbidden", "notifications belong to a signed-in user")
    return ctx.caller.user_id


@functools.lru_cache(maxsize=None)
def _statements() -> dict:
    """What every notification executes, built once."""
    p = NotificationPreference.__table__
    columns = (p.c.user_id, p.c.channel, p.c.enabled, p.c.digest)
    return {"prefs": select(*columns).where(p.c.user_id.in_(bindparam("users", expanding=True)),
                                            p.c.kind == bindparam("kind")),
            # one user (most notifications): no expanding IN, which is compiled again on every execution
            "prefs_one": select(*columns).where(p.c.user_id == bindparam("user"), p.c.kind == bindparam("kind")),
            "insert": insert(Notification.__table__)}


def _prefs(session, user_ids, kind: str) -> dict:
    users = list(user_ids)
    statement, params = ((_statements()["prefs_one"], {"user": users[0], "kind": kind}) if len(users) == 1 else
                         (_statements()["prefs"], {"users": users, "kind": kind}))
    rows = session.connection().execute(statement, params).all()
    found: dict = {}
    for row in rows:
        found.setdefault(row.user_id, {})[row.channel] = (row.enabled, row.digest)
    return found


_GATHERED = "crm_automation_notifications"


class _Gathered:
    """Notifications made in one stretch of a transaction (the intake of a batch of events): each user's
    channels for a kind worked out once (their preferences read once), the rows inserted together at the end."""

    def __init__(self):
        self.rows: list[dict] = []
        self.channels: dict[tuple, tuple | None] = {}  # (user, kind) -> _channels()

    def channels_of(self, session, users: list[str], kind: str) -> list:
        known = self.channels
        if len(users) == 1 and (users[0], kind) in known:  # most notifications: one user, whose are known
            return [known[(users[0], kind)]]
        missing = [u for u in users if (u, kind) not in known]
        if missing:
            found = _prefs(session, missing, kind)
            for user in missing:
                known[(user, kind)] = _channels(found.get(user, {}))
        return [known[(u, kind)] for u in users]


def _channels(mine: dict) -> tuple | None:
    """(in_app, email_status) of a notification to a user with these preferences of its kind; None: not sent."""
    in_app = mine.get("in_app", (DEFAULT["in_app"], False))[0]
    email, digest = mine.get("email", (DEFAULT["email"], False))
    if not in_app and not email:
        return None
    return in_app, ("digest" if digest else "pending") if email else "none"


@contextlib.contextmanager
def gathered(session):
    """Inside: `notify` keeps its rows and writes them (one insert, `drafts.write_new`) when the block ends without
    an error."""
    if session.info.get(_GATHERED) is not None:  # already gathering: the outer block writes
        yield
        return
    gathering = session.info[_GATHERED] = _Gathered()
    try:
        yield
        if gathering.rows:  # in one statement of lists, below the Core's per-row processing (bulk.RowsInsert)
            table = as_written(Notification.__table__)
            in_order = _in_order(rows_insert(table, session.get_bind().dialect).columns)
            write_new(session, table, [list(in_order(row)) for row in gathering.rows])
    finally:
        session.info.pop(_GATHERED, None)


@functools.lru_cache(maxsize=None)
def _in_order(columns: tuple):
    """A row's values in the insert's column order, in one C call."""
    return operator.itemgetter(*columns)


class Made(NamedTuple):
    """A notification written (what the callers read of it)."""

    id: str
    user_id: str
    kind: str


def notify(ctx, user_ids, kind: str, title: str, body: str | None = None, link: str | None = None,
           resource: str | None = None, record_id: str | None = None) -> list[Made]:
    """One notification per user (duplicates and empty ids dropped), as each one's preferences want it; written
    in one insert."""
    one = user_ids.__class__ is list and len(user_ids) == 1  # most notifications: nothing to sort or drop twice
    users = [u for u in user_ids if u] if one else sorted({u for u in user_ids if u})
    if not users:
        return []
    gathering = ctx.session.info.get(_GATHERED)
    if gathering:
        channels = gathering.channels_of(ctx.session, users, kind)
    else:
        prefs = _prefs(ctx.session, users, kind)
        channels = [_channels(prefs.get(u, {})) for u in users]
    rows = []
    now = clock.now_in(ctx.session)
    title = title[:300]
    # time-ordered ids (pooled random bits: no urandom call each; the inbox's index is appended to): a
    # notification is only ever shown to its user (another's is a 404), its id needs no secrecy
    for user_id, sent in zip(users, channels):
        if sent is None:
            continue
        rows.append({"id": new_ordered_id(), "created_at": now, "updated_at": now, "user_id": user_id, "kind": kind,
                     "title": title, "body": body, "link": link, "resource": resource, "record_id": record_id,
                     "read_at": None, "in_app": sent[0], "email_status": sent[1]})
    if rows and gathering:
        gathering.rows.extend(rows)
    elif rows:
        ctx.session.connection().execute(_statements()["insert"], rows)
    emit = ctx.emit
    for row in rows:
        emit(c.NOTIFICATION_CREATED, {"id": row["id"], "user_id": row["user_id"], "kind": kind})
    return [Made(row["id"], row["user_id"], kind) for row in rows]


def _mine(ctx):
    return select(Notification).where(Notification.user_id == _user(ctx), Notification.in_app.is_(True))


def unread_count(ctx) -> int:
    return ctx.session.scalar(select(func.count()).select_from(
        _mine(ctx).where(Notification.read_at.is_(None)).subquery())) or 0


def page(ctx, query: dict) -> dict:
    statement = _mine(ctx)
    if query.get("unread"):
        statement = statement.where(Notification.read_at.is_(None))
    if query.get("kind"):
        statement = statement.where(Notification.kind == query["kind"])
    # the count first: on PostgreSQL each statement reads the latest commit, so a notification written between the
    # two is in the page rather than counted and missing from it ("2 unread" over an empty inbox)
    unread = unread_count(ctx)
    rows, cursor = paging.paginate(ctx.session, statement, Notification, query["sort"], query["limit"],
                                   query.get("cursor"), c.InboxQuery.SORTABLE)
    return {"items": rows, "next_cursor": cursor, "unread_count": unread}


def read(ctx, record_id: str) -> Notification:
    note = ctx.session.get(Notification, record_id)
    if note is None or note.user_id != _user(ctx) or not note.in_app:
        raise ServiceError("not_found", "no such notification")
    if note.read_at is None:
        note.read_at = clock.now()
    return note


def read_all(ctx) -> dict:
    result = ctx.session.execute(update(Notification).where(
        Notification.user_id == _user(ctx), Notification.read_at.is_(None)).values(read_at=clock.now()))
    return {"marked": result.rowcount, "unread_count": unread_count(ctx)}


def preferences(ctx) -> dict:
    user_id = _user(ctx)
    stored = {(p.kind, p.channel): p for p in ctx.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id))}
    items = []
    for kind in c.KINDS:
        for channel in c.CHANNELS:
            p = stored.get((kind, channel))
            items.append({"kind": kind, "channel": channel, "enabled": p.enabled if p else DEFAULT[channel],
                          "digest": bool(p and p.digest)})
    return {"items": items}


def update_preferences(ctx, data: dict) -> dict:
    user_id = _user(ctx)
    for item in data["items"]:
        row = ctx.session.get(NotificationPreference, (user_id, item["kind"], item["channel"]))
        if row is None:
            row = NotificationPreference(user_id=user_id, kind=item["kind"], channel=item["channel"])
            ctx.session.add(row)
        row.enabled, row.digest = item["enabled"], item.get("digest", False) and item["channel"] == "email"
    ctx.session.flush()
    return preferences(ctx)


# -- email ----------------------------------------------------------------------------------------------

def digest_seconds() -> float:
    return config.env_float("CRM_AUTOMATION_DIGEST_SECONDS", 3600.0)


MAIL_BATCH = 100  # notifications (and digest users) read a transaction
MAIL_BATCHES = 50  # batches a tick at most: a backlog larger than that goes on at the next tick


def mail_due(transact, deliver=None) -> int:
    """Send what is due now (`due_mail`), a batch at a time, each batch marked as it went, and another batch
    after a full one, so mail keeps up with more than a batch a tick; it stops at a short batch, at a message
    the SMTP server put off (it stays pending for the next tick: no loop against a server that is down), or after
    MAIL_BATCHES batches. `transact(fn, *args)` runs a domain function in a transaction of its own; `deliver` is
    `send` (the SMTP mailer). How many messages went out."""
    deliver = deliver or send
    sent = 0
    for _ in range(MAIL_BATCHES):
        messages, full = transact(_due, MAIL_BATCH)
        outcome = deliver(messages) if messages else []
        for ids, status in outcome:
            transact(mark_mailed, ids, status)
        sent += sum(status == "sent" for _, status in outcome)
        if not full or any(status == "pending" for _, status in outcome):
            break
    return sent


def due_mail(ctx, limit: int = MAIL_BATCH) -> list[dict]:
    """The messages to send now: each pending notification on its own; a user's digest notifications together
    once the oldest waited the digest interval. Notifications of a user with no address are dropped from mail."""
    return _due(ctx, limit)[0]


@functools.lru_cache(maxsize=None)
def _mail_statements() -> dict:
    """What the mail timer reads, built once: the columns a message needs, not whole rows."""
    n, a = Notification.__table__, UserAddress.__table__
    note = (n.c.id, n.c.user_id, n.c.title, n.c.body, n.c.link)
    mailable = exists().where(a.c.user_id == n.c.user_id, a.c.is_active.is_(True), a.c.email.is_not(None),
                              a.c.email != "")
    return {"pending": select(*note).where(n.c.email_status == "pending").order_by(n.c.created_at)
            .limit(bindparam("limit")),
            # pending notifications of users with no active address, dropped from mail in one statement
            "drop": update(n).where(n.c.email_status == "pending", ~mailable).values(email_status="none"),
            "digest_users": select(n.c.user_id).where(n.c.email_status == "digest", n.c.created_at <= bindparam(
                "cutoff", type_=n.c.created_at.type)).distinct().limit(bindparam("limit")),
            "digests": select(*note).where(n.c.email_status == "digest", n.c.user_id.in_(
                bindparam("users", expanding=True))).order_by(n.c.created_at),
            "addresses": select(a.c.user_id, a.c.email, a.c.is_active).where(
                a.c.user_id.in_(bindparam("users", expanding=True))),
            "mark": update(n).where(n.c.id.in_(bindparam("ids", expanding=True))).values(
                email_status=bindparam("status"))}


def _due(ctx, limit: int) -> tuple[list[dict], bool]:
    """`due_mail`'s messages, and whether the batch was full (more may be due). Rows read and marked by Core
    statements, no ORM object each: the pending notifications of users with no active address are marked `none`
    first, all in one update, without being read (a burst of notifications to users without an address is mostly
    that); a digest user's without an address with the others of its batch in one update."""
    conn, statements = ctx.session.connection(), _mail_statements()
    conn.execute(statements["drop"])
    pending = conn.execute(statements["pending"], {"limit": limit}).all()
    cutoff = clock.now() - timedelta(seconds=digest_seconds())
    digest_users = conn.execute(statements["digest_users"], {"cutoff": cutoff, "limit": limit}).scalars().all()
    digests = conn.execute(statements["digests"], {"users": digest_users}).all() if digest_users else []
    users = {n.user_id for n in [*pending, *digests]}
    addresses = {a.user_id: a for a in conn.execute(statements["addresses"], {"users": list(users)})} if users else {}
    messages: list[dict] = []
    grouped: dict = {}
    dropped: list[str] = []
    for note in pending:
        address = addresses.get(note.user_id)
        if address is None or not address.email or not address.is_active:
            dropped.append(note.id)
            continue
        messages.append({"ids": [note.id], "to": address.email, "subject": note.title,
                         "body": "\n\n".join(filter(None, [note.title, note.body, note.link]))})
    for note in digests:
        address = addresses.get(note.user_id)
        if address is None or not address.email or not address.is_active:
            dropped.append(note.id)
            continue
        grouped.setdefault(address.email, []).append(note)
    for to, notes in grouped.items():
        lines = [f"- {n.title}" + (f": {n.body}" if n.body else "") for n in notes]
        messages.append({"ids": [n.id for n in notes], "to": to,
                         "subject": f"Your CRM digest: {len(notes)} notification{'s' if len(notes) != 1 else ''}",
                         "body": "\n".join(lines)})
    if dropped:
        mark_mailed(ctx, dropped, "none")
    return messages, len(pending) == limit or len(digest_users) == limit


def mark_mailed(ctx, ids: list[str], status: str) -> None:
    """The notifications' email status (their `updated_at` too, as the column's `onupdate` says)."""
    ctx.session.connection().execute(_mail_statements()["mark"], {"ids": list(ids), "status": status})


def sender() -> str:
    return config.env("CRM_MAIL_FROM", "crm@localhost")


def message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender(), to, subject[:300]
    msg.set_content(body)
    return msg


def send(messages: list[dict]) -> list[tuple[list[str], str]]:
    """Each message through the one SMTP mailer (crm_common.mail); (ids, sent|failed) per message."""
    from crm_common import mail
    outcome = []
    with mail.Connection() as smtp:
        for item in messages:
            try:
                smtp.send(message(item["to"], item["subject"], item["body"]), sender(), item["to"])
                outcome.append((item["ids"], "sent"))
            except mail.Refused as exc:
                outcome.append((item["ids"], "failed" if exc.permanent else "pending"))
    return outcome


def apply_user(ctx, data: dict, deactivated: bool = False) -> None:
    """identity's user events: where a user's mail goes, their roles and team (for notify by role)."""
    row = ctx.session.get(UserAddress, data["id"])
    if row is None:
        row = UserAddress(user_id=data["id"])
        ctx.session.add(row)
    row.email, row.roles, row.team_id = data.get("email"), list(data.get("roles") or []), data.get("team_id")
    row.is_active = False if deactivated else bool(data.get("is_active", True))


def users_in_team(ctx, team_id: str) -> list[str]:
    """The team's active members (identity's users as kept here), by id."""
    return sorted(ctx.session.scalars(select(UserAddress.user_id).where(
        UserAddress.team_id == team_id, UserAddress.is_active.is_(True))))


def users_with_role(ctx, role: str) -> list[str]:
    rows = ctx.session.scalars(select(UserAddress).where(UserAddress.is_active.is_(True))).all()
    return sorted(r.user_id for r in rows if role in (r.roles or []))
