"""The suppression list (`/api/v1/suppressions`): addresses the suite never mails, and why.

One live entry per address. Marketers add `manual` entries; an integration with the `consent.create`
permission posts what the mail provider reports (`hard_bounce`, `complaint`, `unsubscribe`); `erased`
entries come only from a privacy erasure (the address is gone, a SHA-256 hash of it keeps suppressing it).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Boolean, Text
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Record, Strict, page
from crm_marketing_contracts.fields import EMAIL_RULE, EmailAddress

REASONS = ("hard_bounce", "complaint", "unsubscribe", "manual", "erased")
POSTED_REASONS = ("hard_bounce", "complaint", "unsubscribe", "manual")  # `erased` only by a privacy erasure
READ, CREATE, DELETE = ("consent", "read"), ("consent", "create"), ("consent", "delete")


class Suppression(Record):
    """An entry of the suppression list (`version` is its ETag)."""

    email = fields.String(allow_none=True, metadata={"description": "trimmed and lower-cased; null once erased"})
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    note = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": 'where it came from: a campaign id, "api"...'})
    created_by = fields.String(allow_none=True, metadata={"description": "the user or API key that added it"})


class SuppressionIn(Strict):
    RULES = (EMAIL_RULE,)

    email = EmailAddress(required=True)
    reason = fields.String(load_default="manual", validate=validate.OneOf(
        POSTED_REASONS, error="one of: {choices} (erased entries come from privacy erasure only)"))
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))
    source = Text(load_default="api", validate=validate.Length(min=1, max=100),
                  metadata={"description": 'where it came from: a campaign id, the mail provider, "api"'})


class SuppressionQuery(ListQuery):
    """`?reason=&email=&q=&sort=`: `email` finds the address's entry (an erased one too, by its hash); `q`
    searches the readable addresses, notes and sources."""

    SORTABLE = ("created_at", "email")
    RULES = (CURSOR_RULE, EMAIL_RULE)

    reason = fields.String(validate=validate.OneOf(REASONS))
    email = EmailAddress()


SuppressionPage = page(Suppression, "SuppressionPage")


class CheckQuery(Strict):
    RULES = (EMAIL_RULE,)

    email = EmailAddress(required=True)


class CheckResult(Schema):
    """What a sender asks at send time: may this address be mailed?"""

    email = fields.String(required=True)
    suppressed = Boolean(required=True)
    reason = fields.String(allow_none=True, validate=validate.OneOf(REASONS))


# -- events: ids and reasons, never the address (the outbox and the event feed keep every event, and an
#    erased address must leave no readable copy; a consumer reads the entry by its id) --------------------

class SuppressionAddedData(Schema):
    id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    source = fields.String(allow_none=True)


class SuppressionLiftedData(Schema):
    id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))


SUPPRESSION_ADDED = event("marketing", "suppression_added", 1, SuppressionAddedData,
                          "An address was put on the suppression list.", entity="suppression", action="create")
SUPPRESSION_LIFTED = event("marketing", "suppression_lifted", 1, SuppressionLiftedData,
                           "A suppression entry was lifted: its address may be mailed again.",
                           entity="suppression", action="delete")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_SUPPRESSIONS = rpc("marketing", "list_suppressions", SuppressionQuery, SuppressionPage, permission=READ,
                        description="The suppression list, newest first; filters reason, email, q.")
CREATE_SUPPRESSION = rpc("marketing", "create_suppression", SuppressionIn, Suppression, permission=CREATE,
                         description="Put an address on the suppression list (409 naming the entry it already has).")
GET_SUPPRESSION = rpc("marketing", "get_suppression", None, Suppression, permission=READ, record=True,
                      description="One suppression entry.")
DELETE_SUPPRESSION = rpc("marketing", "delete_suppression", None, None, permission=DELETE, record=True,
                         description="Lift a manual or hard_bounce entry; complaint, unsubscribe and erased "
                                     "entries stay (409): the person asked not to be mailed.")
CHECK_SUPPRESSION = rpc("marketing", "check_suppression", CheckQuery, CheckResult, permission=READ,
                        description="Whether an address is suppressed, and why (asked at send time).")
