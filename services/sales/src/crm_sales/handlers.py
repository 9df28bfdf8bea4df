"""What the sales service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from crm_common.context import SYSTEM
from crm_common.errors import ServiceError
from crm_sales.domain import leads, privacy, users

log = logging.getLogger(__name__)

USER_CREATED = "identity.user_created.v1"
USER_UPDATED = "identity.user_updated.v1"
USER_DEACTIVATED = "identity.user_deactivated.v1"
PRIVACY_REQUESTED = "identity.privacy_requested.v1"
FORM_SUBMITTED = "marketing.form_submitted.v1"


def on_user(session: Session, envelope: dict, uow) -> None:
    data = dict(envelope["data"])
    if envelope["type"] == USER_DEACTIVATED:
        data["is_active"] = False
    user, was_active = users.upsert(session, data)
    if was_active and not user.is_active:
        moved = leads.reassign_open_leads(session, user.id, uow.emit)
        log.info("user %s deactivated: %d open leads reassigned", user.id, moved)


def on_privacy(session: Session, envelope: dict, uow) -> None:
    privacy.handle(session, envelope["data"], uow.emit)


def on_form(session: Session, envelope: dict, uow) -> None:
    """A web form became a lead (duplicates are linked to the first, never refused)."""
    data = envelope["data"]
    fields = {k: v for k, v in (data.get("fields") or {}).items() if k in leads.FIELDS and v not in (None, "")}
    if data.get("campaign_id"):
        fields["campaign_id"] = data["campaign_id"]
    if isinstance(fields.get("country"), str):
        fields["country"] = fields["country"].upper()[:2]
    try:
        leads.create(session, SYSTEM, dict(fields), uow.emit, source="web_form", link_duplicates=True)
    except ServiceError as exc:
        if exc.code != "validation_failed":
            raise
        kept = {k: v for k, v in fields.items() if k not in exc.errors}  # drop what is invalid, keep the person
        try:
            leads.create(session, SYSTEM, kept, uow.emit, source="web_form", link_duplicates=True)
        except ServiceError:
            log.warning("form submission %s has no usable lead fields: %s", data.get("submission_id"), exc.errors)


# event type -> handler(session, envelope, uow)
HANDLERS: dict = {
    USER_CREATED: on_user,
    USER_UPDATED: on_user,
    USER_DEACTIVATED: on_user,
    PRIVACY_REQUESTED: on_privacy,
    FORM_SUBMITTED: on_form,
}


def dispatch(session: Session, envelope: dict, uow) -> bool:
    """Apply one event; events this service has no use for are skipped. Returns whether it applied."""
    handler = HANDLERS.get(envelope["type"])
    if handler is None:
        return False
    handler(session, envelope, uow)
    return True
