"""The notifications the service desk keeps for users (a group's manager on an escalation)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_service_desk_contracts as c
from crm_service_desk.domain.records import page
from crm_service_desk.models import Notification

if TYPE_CHECKING:
    from crm_common.context import Context


def list_notifications(ctx: Context, args: dict) -> dict:
    """The caller's own notifications."""
    query = select(Notification).where(Notification.user_id == ctx.caller.user_id)
    return page(ctx.session, query, Notification, args, c.NotificationQuery.SORTABLE)
