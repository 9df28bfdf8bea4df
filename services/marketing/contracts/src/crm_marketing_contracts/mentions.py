"""Social mentions (`/api/v1/social/mentions`): posts a connector found, scored for sentiment; a marketer
replies (recorded and sent on to the connector as an event) or opens a service desk ticket (channel
`social`) from one. One mention per (network, external_id): a repeat is a 409 naming the first.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

STATUSES = ("new", "replied", "ticket", "ignored")
SET_STATUSES = ("new", "ignored")  # what a PATCH may set: replied and ticket come from their actions
LABELS = ("positive", "neutral", "negative")
NETWORK = validate.Regexp(r"^[a-z][a-z0-9_.-]{0,29}$", error="a network name in lower case, e.g. twitter, weibo")
URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="an http or https URL")
READ, CREATE, UPDATE = ("social_mention", "read"), ("social_mention", "create"), ("social_mention", "update")
URL_RULE = "url is an http or https URL with a host (the post's address on its network)"
STATUS_RULE = "status moves new <-> ignored by PATCH; a replied or ticket mention stays as it is (409)"
TICKET_RULE = "a mention gets one ticket (a second is a 409 naming it)"


class Reply(Schema):
    text = fields.String(required=True)
    replied_at = Timestamp(required=True)
    replied_by = fields.String(allow_none=True)


class Mention(Record):
    """A social mention (`version` is its ETag)."""

    network = fields.String(required=True)
    external_id = fields.String(required=True)
    author_handle = fields.String(required=True)
    text = fields.String(required=True)
    url = fields.String(allow_none=True)
    posted_at = Timestamp(required=True)
    sentiment = fields.Float(required=True, metadata={"description": "-1 (negative) .. 1 (positive)"})
    sentiment_label = fields.String(required=True, validate=validate.OneOf(LABELS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    replies = fields.List(fields.Nested(Reply), required=True)
    ticket_id = fields.String(allow_none=True, metadata={"description": "the service desk ticket opened from it"})
    ingested_by = fields.String(allow_none=True)
    handled_by = fields.String(allow_none=True)


class MentionIn(Strict):
    RULES = (URL_RULE,)

    network = Text(required=True, validate=NETWORK)
    external_id = Text(required=True, validate=validate.Length(min=1, max=200))
    author_handle = Text(required=True, validate=validate.Length(min=1, max=100))
    text = Text(required=True, validate=validate.Length(min=1, max=10000))
    url = Text(load_default=None, allow_none=True, metadata={"description": URL_RULE},
               validate=[validate.Length(max=2000), validate.Regexp(r"^https?://\S+$", error="an http or https URL"),
                         URL])
    posted_at = Timestamp(required=True)


class MentionUpdate(Patch):
    RULES = (STATUS_RULE,)

    status = fields.String(required=True, validate=validate.OneOf(SET_STATUSES))


class MentionQuery(ListQuery):
    """`?status=&network=&sentiment=&q=`: `q` searches the text and the author's handle."""

    SORTABLE = ("created_at", "posted_at", "sentiment")
    RULES = (CURSOR_RULE,)

    status = fields.String(validate=validate.OneOf(STATUSES))
    network = fields.String(validate=NETWORK)
    sentiment = fields.String(validate=validate.OneOf(LABELS))


MentionPage = page(Mention, "MentionPage")


class ReplyIn(Strict):
    text = Text(required=True, validate=validate.Length(min=1, max=2000))


class TicketIn(Strict):
    RULES = (TICKET_RULE,)

    subject = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=300),
                   metadata={"description": "the ticket's subject (default: the network and the author's handle)"})
    priority = fields.String(load_default="normal", validate=validate.OneOf(("low", "normal", "high", "urgent")))


# -- events: the mention's id and network; the text goes to whoever must act on it ------------------

class MentionReceivedData(Schema):
    id = fields.String(required=True)
    network = fields.String(required=True)
    sentiment = fields.Float(required=True)
    sentiment_label = fields.String(required=True)


class MentionChangedData(Schema):
    id = fields.String(required=True)
    changed_fields = fields.List(fields.String(), required=True)


class ReplyRequestedData(Schema):
    """For the connector: post `text` as a reply to the post `external_id` on `network`."""

    id = fields.String(required=True)
    network = fields.String(required=True)
    external_id = fields.String(required=True)
    url = fields.String(allow_none=True)
    text = fields.String(required=True)


class TicketRequestedData(Schema):
    """For the service desk: open ticket `ticket_id` (channel social) from the mention."""

    id = fields.String(required=True)
    ticket_id = fields.String(required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    priority = fields.String(required=True)
    network = fields.String(required=True)
    author_handle = fields.String(required=True)
    requested_by = fields.String(allow_none=True)


MENTION_RECEIVED = event("marketing", "mention_received", 1, MentionReceivedData,
                         "A social mention was ingested (with its sentiment).", entity="social_mention",
                         action="create")
MENTION_UPDATED = event("marketing", "mention_updated", 1, MentionChangedData,
                        "A social mention's status changed (ignored, or back to new).", entity="social_mention",
                        action="update")
MENTION_REPLY_REQUESTED = event("marketing", "mention_reply_requested", 1, ReplyRequestedData,
                                "A marketer replied to a mention: the connector posts the reply.",
                                entity="social_mention", action="update")
MENTION_TICKET_REQUESTED = event("marketing", "mention_ticket_requested", 1, TicketRequestedData,
                                 "A marketer opened a ticket from a mention: the service desk opens it with the "
                                 "id given (channel social).", entity="social_mention", action="update")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_MENTIONS = rpc("marketing", "list_mentions", MentionQuery, MentionPage, permission=READ,
                    description="Social mentions, newest first; filters status, network, sentiment, q.")
CREATE_MENTION = rpc("marketing", "create_mention", MentionIn, Mention, permission=CREATE,
                     description="Ingest a mention (a connector); a repeat of (network, external_id) is a 409 "
                                 "naming the mention it has (existing_id).")
GET_MENTION = rpc("marketing", "get_mention", None, Mention, permission=READ, record=True,
                  description="One social mention.")
UPDATE_MENTION = rpc("marketing", "update_mention", MentionUpdate, Mention, permission=UPDATE, record=True,
                     description="Ignore a mention (status ignored) or bring it back (new).")
REPLY_MENTION = rpc("marketing", "reply_mention", ReplyIn, Mention, permission=UPDATE, record=True,
                    description="Record a reply (status replied) and send it on to the connector "
                                "(marketing.mention_reply_requested.v1).")
TICKET_MENTION = rpc("marketing", "ticket_mention", TicketIn, Mention, permission=UPDATE, record=True,
                     description="Open a service desk ticket (channel social) from the mention; the mention keeps "
                                 "its ticket_id (status ticket).")
