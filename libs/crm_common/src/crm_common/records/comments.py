"""Comments on any record, with @mentions: `@<email>` in the body names a user; each mentioned user gets the
service's `<service>.comment_mentioned.v1` event (notifications consume it). The body is rich text, cleaned
(crm_common.richtext). Every comment is announced with the service's record_changed event (the audit trail).

`functions(metadata, resource, load, users_by_email, mentioned_event, changed_event)` gives the domain
functions of one resource's comments: `load(ctx, record_id, action)` is the service's scoped read (404 out of
scope), `users_by_email(session, emails)` -> {email: user_id} of the users the service knows. A comment is
edited or deleted by its author or an administrator only (403 for others who see the record, 404 for those who
don't); an edited comment shows `edited_at`. `redact(ctx, metadata, email, changed_event)` is privacy erasure's
part: the address leaves every comment body naming it.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, func, select, update

from crm_common import paging
from crm_common.db import new_id, utcnow
from crm_common.errors import ServiceError, validation
from crm_common.richtext import clean
from crm_common.types import UTCDateTime

TABLE = "record_comments"
MENTION = re.compile(r"(?<![\w.+-])@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")


def install(metadata: MetaData) -> Table:
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(
        TABLE, metadata,
        Column("id", String(36), primary_key=True),
        Column("resource", String(40), nullable=False),
        Column("record_id", String(36), nullable=False, index=True),
        Column("author_id", String(36), nullable=True),
        Column("body", Text, nullable=False),
        Column("mentions", JSON, nullable=False),
        Column("version", Integer, nullable=False, default=1),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("deleted_at", UTCDateTime(), nullable=True),
    )


def mentioned_emails(body: str) -> list[str]:
    """The addresses `@`-mentioned in a body, lower case, each once, in order."""
    return list(dict.fromkeys(match.lower() for match in MENTION.findall(body or "")))


ERASED = "(erased)"


def view(row) -> dict:
    """A comment as shown: `edited_at` is the time of its last edit (None when never edited)."""
    row = dict(row)
    row["edited_at"] = row["updated_at"] if (row.get("version") or 1) > 1 else None
    return row


def redact(ctx, metadata: MetaData, email: str, changed_event: str) -> int:
    """Privacy erasure: `email` (any case) replaced by "(erased)" in every comment body naming it; the count."""
    email = (email or "").strip().lower()
    if not email:
        return 0
    table = install(metadata)
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    rows = ctx.session.execute(select(table.c.id, table.c.body).where(
        func.lower(table.c.body).contains(email, autoescape=True))).all()
    for comment_id, body in rows:
        ctx.session.execute(update(table).where(table.c.id == comment_id).values(
            body=pattern.sub(ERASED, body), updated_at=utcnow()))
        ctx.emit(changed_event, {"entity": "comment", "id": comment_id, "action": "update", "changed_fields": ["body"]})
    return len(rows)


def functions(metadata: MetaData, resource: str, load, users_by_email, mentioned_event: str,
              changed_event: str) -> SimpleNamespace:
    table = install(metadata)

    def _body(ctx, raw: str) -> tuple[str, list[str]]:
        body = clean(raw).strip()
        if not body:
            raise validation({"body": ["a comment needs some text"]})
        emails = mentioned_emails(raw)
        known = users_by_email(ctx.session, emails) if emails else {}
        unknown = [email for email in emails if email not in known]
        if unknown:
            raise validation({"body": [f"no user with the address {', '.join(unknown)}"]})
        return body, [known[email] for email in emails]

    def _mentioned(ctx, comment_id: str, record_id: str, user_ids) -> None:
        for user_id in user_ids:
            ctx.emit(mentioned_event, {"comment_id": comment_id, "resource": resource, "record_id": record_id,
                                       "mentioned_user_id": user_id, "author_id": ctx.caller.user_id})

    def add(ctx, record_id: str, data: dict) -> dict:
        load(ctx, record_id, "update")
        body, mentions = _body(ctx, data["body"])
        now = utcnow()
        row = {"id": new_id(), "resource": resource, "record_id": record_id, "author_id": ctx.caller.user_id,
               "body": body, "mentions": mentions, "version": 1, "created_at": now,
               "updated_at": now, "deleted_at": None}
        ctx.session.execute(table.insert().values(**row))
        ctx.emit(changed_event, {"entity": "comment", "id": row["id"], "action": "create", "changed_fields": []})
        _mentioned(ctx, row["id"], record_id, row["mentions"])
        return view(row)

    def _own(ctx, record_id: str, comment_id: str) -> dict:
        """The comment, for its author or an administrator (403 for another who sees the record, 404 out of scope)."""
        load(ctx, record_id, "read")
        row = ctx.session.execute(select(table).where(
            table.c.id == comment_id, table.c.resource == resource, table.c.record_id == record_id,
            table.c.deleted_at.is_(None))).mappings().first()
        if row is None:
            raise ServiceError("not_found", "comment not found")
        if row["author_id"] != ctx.caller.user_id and not ctx.caller.is_admin:
            raise ServiceError("forbidden", "only its author or an administrator changes a comment")
        return dict(row)

    def edit(ctx, record_id: str, data: dict, comment_id: str) -> dict:
        row = _own(ctx, record_id, comment_id)
        body, mentions = _body(ctx, data["body"])
        changes = {"body": body, "mentions": mentions, "version": row["version"] + 1, "updated_at": utcnow()}
        ctx.session.execute(update(table).where(table.c.id == comment_id).values(**changes))
        ctx.emit(changed_event, {"entity": "comment", "id": comment_id, "action": "update",
                                 "changed_fields": ["body"] if body != row["body"] else []})
        _mentioned(ctx, comment_id, record_id, [user_id for user_id in mentions if user_id not in row["mentions"]])
        return view({**row, **changes})

    def remove(ctx, record_id: str, comment_id: str) -> None:
        _own(ctx, record_id, comment_id)
        ctx.session.execute(update(table).where(table.c.id == comment_id).values(deleted_at=utcnow()))
        ctx.emit(changed_event, {"entity": "comment", "id": comment_id, "action": "delete", "changed_fields": []})

    def listed(ctx, record_id: str, query: dict) -> dict:
        load(ctx, record_id, "read")
        limit = query.get("limit") or 50
        offset = 0
        if query.get("cursor"):
            offset, _ = paging.decode_cursor(query["cursor"])
        rows = ctx.session.execute(select(table).where(
            table.c.resource == resource, table.c.record_id == record_id, table.c.deleted_at.is_(None))
            .order_by(table.c.created_at, table.c.id).offset(offset).limit(limit + 1)).mappings().all()
        cursor = paging.encode_cursor(offset + limit, "offset") if len(rows) > limit else None
        return {"items": [view(row) for row in rows[:limit]], "next_cursor": cursor}

    return SimpleNamespace(create=add, list=listed, update=edit, delete=remove)
