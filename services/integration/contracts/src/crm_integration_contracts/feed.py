"""The event feed: every business event of the suite in one global order, read from an opaque cursor."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Text, Timestamp
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Strict

TYPES_RULE = ("types is a comma-separated list of event types or patterns (`sales.*`, "
              "`service_desk.ticket_opened.v1`)")
AFTER_RULE = "after is a cursor this feed gave (a next_cursor), or empty for the start of the kept history"


class FeedQuery(Strict):
    RULES = (AFTER_RULE, TYPES_RULE)

    after = Text(load_default=None, allow_none=True, validate=validate.Length(max=100),
                 metadata={"description": AFTER_RULE})
    types = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                 metadata={"description": TYPES_RULE})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class FeedItem(Schema):
    """One event as its producer published it (the envelope), with its place in the feed."""

    class Meta:
        ordered = True

    cursor = fields.String(required=True, metadata={"description": "the position just after this event"})
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    occurred_at = Timestamp(required=True)
    producer = fields.String(allow_none=True)
    entity = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    actor = fields.Dict(keys=fields.String(), values=fields.Raw(), allow_none=True)
    data = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class FeedPage(Schema):
    items = fields.List(fields.Nested(FeedItem), required=True)
    next_cursor = fields.String(required=True, metadata={
        "description": "never null: the position after the last item, or the cursor given when the page is empty"})


LIST_EVENTS = rpc("integration", "list_events", FeedQuery, FeedPage, permission=("event_feed", "read"),
                  description="The business events after a cursor, in the feed's one global order.")
