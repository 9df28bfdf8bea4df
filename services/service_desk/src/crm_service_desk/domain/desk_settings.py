"""The service desk's settings: one row, created with defaults when first read."""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_common.errors import ServiceError
from crm_service_desk.domain.records import apply_changes, now
from crm_service_desk.models import DeskSettings


def current(session: Session) -> DeskSettings:
    row = session.get(DeskSettings, 1)
    if row is None:
        row = DeskSettings(id=1, reopen_days=7, customers_see_account_tickets=False,
                           complaint_ack_minutes=2 * 24 * 60, complaint_final_response_minutes=30 * 24 * 60)
        session.add(row)
        session.flush()
    return row


def update(session: Session, uow, data: dict, expected_version: int | None) -> DeskSettings:
    if uow.caller.scope("ticket", "admin") == "none":
        raise ServiceError("forbidden", "only support managers change the service desk settings")
    row = current(session)
    changed = apply_changes(row, data, expected_version)
    if changed:
        row.updated_at = now()
    return row
