"""The public links of a message and of a double opt-in: open pixel, click, unsubscribe, confirm.

These methods are public (no role: the signed token is the credential; the gateway serves them outside
/api/v1 as a GIF, a redirect or an HTML page). A forged, altered or unknown token is a 404.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Strict

KINDS = ("open", "click")
SCOPES = ("topic", "all")  # what an unsubscribe of a topic campaign's message leaves
TOKEN = {"validate": validate.Length(min=1, max=64), "metadata": {"description": "the signed token of the link"}}


class TrackIn(Strict):
    """A pixel fetched or a link followed: `head` is a HEAD request (link scanners check links so)."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    token = Text(required=True, **TOKEN)
    user_agent = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    head = Boolean(load_default=False)


class TrackResult(Schema):
    url = fields.String(allow_none=True, metadata={"description": "a click's original link: where to redirect"})
    machine = Boolean(required=True, metadata={"description": "the hit was an image proxy's or a link scanner's"})


class TokenIn(Strict):
    token = Text(required=True, **TOKEN)
    user_agent = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ConfirmIn(TokenIn):
    pressed = Boolean(load_default=False, metadata={"description": "the person pressed the page's button (POST): "
                                                                   "confirmed whatever the user agent"})


class UnsubscribeIn(TokenIn):
    scope = fields.String(load_default="topic", validate=validate.OneOf(SCOPES), metadata={
        "description": "what a topic campaign's message unsubscribes from: its topic (the default, and RFC 8058's "
                       "one-click) or all marketing mail; a message of no topic always unsubscribes from all"})


class UnsubscribeState(Schema):
    """What the unsubscribe page says: the address (masked), the topic the link unsubscribes from (None: all
    marketing mail), and whether it is unsubscribed from that already (and from all mail)."""

    address = fields.String(required=True, metadata={"description": "masked: a***@example.com"})
    topic = fields.String(allow_none=True, metadata={"description": "the content topic of the message's campaign: "
                                                                   "the link unsubscribes from it only"})
    unsubscribed = Boolean(required=True, metadata={"description": "from what the link unsubscribes from"})
    unsubscribed_all = Boolean(required=True, metadata={"description": "from all marketing mail"})


class ConfirmResult(Schema):
    address = fields.String(required=True, metadata={"description": "masked: a***@example.com"})
    status = fields.String(required=True, validate=validate.OneOf(("opted_in", "opted_out", "pending")))
    confirmed_at = Timestamp(allow_none=True)
    already = Boolean(required=True, metadata={"description": "it was confirmed before this visit"})


# -- events: ids only (the message names campaign and person; a consumer reads what it needs) ---------

class MessageHitData(Schema):
    message_id = fields.String(required=True)
    campaign_id = fields.String(required=True)
    variant_id = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    occurred_at = Timestamp(required=True)


class ClickData(MessageHitData):
    link_index = fields.Integer(required=True)
    url = fields.String(required=True)


class UnsubscribedData(Schema):
    message_id = fields.String(required=True)
    campaign_id = fields.String(required=True)
    member_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True, metadata={"description": "the sales contact the message went to "
                                                                        "(null: a lead or no member)"})
    suppression_id = fields.String(allow_none=True)
    topic = fields.String(allow_none=True, metadata={"description": "the content topic left (a topic campaign's "
                                                                   "link); absent or null: all marketing mail"})
    occurred_at = Timestamp(required=True)


EMAIL_OPENED = event("marketing", "email_opened", 1, MessageHitData,
                     "A person (not an image proxy) opened a message for the first time.",
                     entity="message", action="update")
EMAIL_CLICKED = event("marketing", "email_clicked", 1, ClickData,
                      "A person (not a link scanner) clicked a link of a message for the first time.",
                      entity="message", action="update")
UNSUBSCRIBED = event("marketing", "unsubscribed", 1, UnsubscribedData,
                     "A recipient unsubscribed with the link (or the one-click header) of a message: from the "
                     "content topic named (a topic campaign's), or from all marketing mail.",
                     entity="message", action="update")

# -- RPC methods (public: permission None, the token is the credential) -------------------------------

TRACK = rpc("marketing", "track", TrackIn, TrackResult,
            description="Record an open or a click of a message (its token); a click answers the original link.")
PREVIEW_UNSUBSCRIBE = rpc("marketing", "preview_unsubscribe", TokenIn, UnsubscribeState,
                          description="What the unsubscribe page shows; changes nothing.")
UNSUBSCRIBE = rpc("marketing", "unsubscribe", UnsubscribeIn, UnsubscribeState,
                  description="Unsubscribe the recipient of a message (RFC 8058 one-click): from the topic of a "
                              "topic campaign's message (scope topic), else from all marketing mail (suppression "
                              "list, consent opted_out).")
CONFIRM_CONSENT = rpc("marketing", "confirm_consent", ConfirmIn, ConfirmResult,
                      description="Confirm a pending consent with the double opt-in link (idempotent); a link "
                                  "scanner's GET is answered without confirming (status pending).")
