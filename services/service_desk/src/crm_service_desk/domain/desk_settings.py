"""The service desk's settings: one row, created with defaults when first read."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from crm_service_desk.domain.records import apply_changes, now
from crm_service_desk.models import DeskSettings

if TYPE_CHECKING:
    from crm_common.context import Context


def current(session: Session) -> DeskSettings:
    row = session.get(DeskSettings, 1)
    if row is None:
        row = DeskSettings(id=1, reopen_days=7, customers_see_account_tickets=False,
                           complaint_ack_minutes=2 * 24 * 60, complaint_final_response_minutes=30 * 24 * 60)
        session.add(row)
        session.flush()
    return row


def get(ctx: Context) -> DeskSettings:
    return current(ctx.session)


def update(ctx: Context, data: dict, expected_version: int | None = None) -> DeskSettings:
    """The settings (the contract's permission, ticket.admin, is the support managers'). No event: the
    settings are not an audited record (yet)."""
    row = current(ctx.session)
    changed = apply_changes(row, data, expected_version)
    if changed:
        row.updated_at = now()
    return row
