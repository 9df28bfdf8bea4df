"""What people did, as segments and scoring read it (audience_activity): one function every area calls."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm_common.db import serialize_on, utcnow
from crm_marketing.models import AudienceActivity, AudienceMember

KINDS = ("email_sent", "email_opened", "email_clicked", "unsubscribed", "bounced", "complained",
         "form_submitted", "order_placed", "ticket_opened", "ticket_solved", "survey_answered")


def address_key(email_hash: str) -> str:
    """The lock an address's unlinked behaviour and a member taking that address share (`crm_common.db.serialize_on`)."""
    return f"audience-address:{email_hash}"


def record(session, kind: str, *, email_hash: str | None = None, member_id: str | None = None,
           account_id: str | None = None, ref_id: str | None = None, detail: dict | None = None,
           occurred_at: datetime | None = None, source_event_id: str | None = None) -> AudienceActivity:
    """Add one activity in the caller's transaction. Without `member_id`, the audience member of the address
    (`email_hash`) is looked up, so behaviour of a known person reaches their segments and score; the address
    is held until commit (`address_key`), so a member arriving with it at the same moment links this row."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    if member_id is None and email_hash is not None:
        serialize_on(session, address_key(email_hash))
        member_id = session.execute(select(AudienceMember.id).where(
            AudienceMember.email_hash == email_hash, AudienceMember.deleted_at.is_(None)).limit(1)).scalar()
    row = AudienceActivity(kind=kind, email_hash=email_hash, member_id=member_id, account_id=account_id,
                           ref_id=ref_id, detail=detail or {}, occurred_at=occurred_at or utcnow(),
                           source_event_id=source_event_id)
    session.add(row)
    return row


def record_many(session, kind: str, rows: list[dict]) -> None:
    """Many activities of one kind in the caller's transaction, in one insert (a campaign's email_sent): each
    row has member_id, email_hash, account_id, ref_id, detail and occurred_at (and may bring its id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    from crm_common import bulk
    from crm_common.db import new_id
    bulk.insert_rows(session, AudienceActivity.__table__, [
        {"id": row.get("id") or new_id(), "kind": kind, "member_id": row.get("member_id"), "email_hash": row.get("email_hash"),
         "account_id": row.get("account_id"), "ref_id": row.get("ref_id"), "detail": row.get("detail") or {},
         "occurred_at": row.get("occurred_at") or utcnow(), "source_event_id": None} for row in rows])
