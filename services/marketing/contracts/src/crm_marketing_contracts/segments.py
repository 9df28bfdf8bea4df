"""Segments (`/api/v1/segments`): named rule trees over the audience, evaluated when read or sent to.

`rules` is `{"all": [...]}` or `{"any": [...]}`, nested (at most RULE_DEPTH levels), whose leaves are an
attribute rule `{"field": "country", "op": "in", "value": ["DE", "FR"]}`, a consent rule
`{"field": "consent", "channel": "email", "op": "eq", "value": "opted_in"}`, a topic rule
`{"field": "topic", "op": "subscribed", "value": "newsletter"}` (a contact subscribed in sales) or a behaviour rule
`{"behaviour": "clicked", "ref_id": "<campaign id>", "within_days": 30, "negate": false}`. The shape of a
rule tree is checked by the service (every problem named by its path, e.g. `rules.all.1.op`).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

READ, CREATE, UPDATE, DELETE = (("segment", action) for action in ("read", "create", "update", "delete"))
RULE_DEPTH = 5  # nesting levels of all/any
RULES_RULE = ("rules is a tree of all/any groups (each with 1 to 50 items, at most 5 levels deep) over "
              "attribute, consent, topic and behaviour rules; an unknown field, operator or behaviour, a value "
              "of the wrong type or an empty group is a 422 naming its path (rules.all.0.op)")
ATTRIBUTES = ("kind", "country", "industry", "grade", "lifecycle_stage", "lead_status", "score", "tags",
              "owner_id", "campaign_id", "account_id", "consent", "topic")
TOPICS = ("newsletter", "product_updates", "events", "webinars")  # sales' content topics (its TOPICS)
BEHAVIOURS = ("sent", "opened", "clicked", "unsubscribed", "bounced", "form_submitted", "bought",
              "ticket_opened", "ticket_solved", "survey_answered", "open_ticket", "no_open_ticket")
RULES_DOC = {"type": "object", "description": RULES_RULE,
             "example": {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]},
                                 {"field": "grade", "op": "eq", "value": "A"},
                                 {"behaviour": "clicked", "ref_id": "2b1c...", "within_days": 30}]}}


class Segment(Record):
    """A segment; `member_count` is counted when one segment is read (null in a list unless `?counts=true`)."""

    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    rules = fields.Dict(required=True, metadata=RULES_DOC)
    member_count = fields.Integer(allow_none=True, metadata={
        "description": "live members now (counted when read; null in a list unless ?counts=true)"})
    owner_id = fields.String(allow_none=True)


class SegmentIn(Strict):
    RULES = (RULES_RULE,)

    name = Text(required=True, validate=validate.Length(min=1, max=200))
    description = Text(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    rules = fields.Dict(required=True, metadata=RULES_DOC)


class SegmentPatch(Patch):
    RULES = (RULES_RULE,)

    name = Text(validate=validate.Length(min=1, max=200))
    description = Text(allow_none=True, validate=validate.Length(max=1000))
    rules = fields.Dict(metadata=RULES_DOC)


class SegmentQuery(ListQuery):
    """`?q=` searches names and descriptions; `counts=true` counts each segment of the page (slower)."""

    SORTABLE = ("created_at", "name")
    counts = fields.Boolean(load_default=False)  # a query string: "true" or "false"


SegmentPage = page(Segment, "SegmentPage")


class Member(Schema):
    """An audience member: marketing's copy of a sales lead (`kind` lead, `source_id` the lead's id) or contact
    (with its account's attributes)."""

    class Meta:
        ordered = True

    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("lead", "contact")))
    source_id = fields.String(required=True)
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    lifecycle_stage = fields.String(allow_none=True)
    lead_status = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    tags = fields.List(fields.String())
    owner_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class MemberQuery(Strict):
    RULES = (CURSOR_RULE,)
    SORTABLE = ("created_at",)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Text(load_default=None, allow_none=True, metadata={"description": CURSOR_RULE})
    sort = fields.String(load_default="created_at", validate=validate.OneOf(("created_at", "-created_at")))


class MemberPage(Schema):
    """One page of a segment's live members and how many it has in all (`count`)."""

    items = fields.List(fields.Nested(Member), required=True)
    next_cursor = fields.String(allow_none=True)
    count = fields.Integer(required=True)


# -- events: ids and names (rules say nothing of a person) ---------------------------------------

class SegmentEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class SegmentUpdatedData(SegmentEventData):
    changed_fields = fields.List(fields.String(), required=True)


SEGMENT_CREATED = event("marketing", "segment_created", 1, SegmentEventData, "A segment was created.",
                        entity="segment", action="create")
SEGMENT_UPDATED = event("marketing", "segment_updated", 1, SegmentUpdatedData,
                        "A segment's name, description or rules changed.", entity="segment", action="update")
SEGMENT_DELETED = event("marketing", "segment_deleted", 1, SegmentEventData, "A segment was deleted.",
                        entity="segment", action="delete")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_SEGMENTS = rpc("marketing", "list_segments", SegmentQuery, SegmentPage, permission=READ,
                    description="Segments, newest first; member_count only with counts=true.")
CREATE_SEGMENT = rpc("marketing", "create_segment", SegmentIn, Segment, permission=CREATE,
                     description="A segment; its rules are checked and its members counted.")
GET_SEGMENT = rpc("marketing", "get_segment", None, Segment, permission=READ, record=True,
                  description="One segment with its member_count now.")
UPDATE_SEGMENT = rpc("marketing", "update_segment", SegmentPatch, Segment, permission=UPDATE, record=True,
                     description="Change a segment's name, description or rules.")
DELETE_SEGMENT = rpc("marketing", "delete_segment", None, None, permission=DELETE, record=True,
                     description="Delete a segment (kept, hidden; a campaign naming it sends to its other segments).")
LIST_SEGMENT_MEMBERS = rpc("marketing", "list_segment_members", MemberQuery, MemberPage, permission=READ,
                           record=True, description="The segment's live members now, paged, with their count.")
