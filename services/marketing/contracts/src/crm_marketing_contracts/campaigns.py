"""Campaigns (`/api/v1/campaigns`) of every type with budget, cost, dates, audience and content, and their
stats (`GET /api/v1/campaigns/{id}/stats`): what was sent, what people did, and what it earned in sales.

Status flow: draft -> scheduled -> sending -> sent; any status but sent -> cancelled (scheduled -> draft
takes a send off the calendar). An email campaign's scheduled, sending and sent come from its send; other
types move along the flow by an update. A campaign that is sending or sent takes only `actual_cost` (and a
sending one `status: cancelled`): 409 for anything else.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, Day, Money, Text, Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page
from crm_marketing_contracts.fields import EmailAddress
from crm_marketing_contracts.segments import TOPICS

TYPES = ("email", "event", "webinar", "social", "print", "other")
STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
AB_METRICS = ("opens", "clicks")
READ, CREATE, UPDATE, DELETE = (("campaign", action) for action in ("read", "create", "update", "delete"))
CAMPAIGN_RULES = (existing("segment_ids", "template_id", "variants.template_id"),
                  "ends_on is on or after starts_on",
                  "variants' shares add up to 100, and a campaign has either template_id or variants",
                  "status follows draft -> scheduled -> sending -> sent, or -> cancelled from any but sent; "
                  "an email campaign is scheduled, sent and finished by its send",
                  "a campaign that is sending or sent takes only actual_cost (and cancelling a sending one)")


def Currency(**kw):  # noqa: N802 - a field factory
    return fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code like EUR"), **kw)


def Id(**kw):  # noqa: N802
    return fields.String(validate=validate.Length(min=1, max=36), **kw)


class VariantIn(Strict):
    template_id = Id(required=True)
    share = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=99),
                           metadata={"description": "percent of the test audience"})


class CampaignFields(Strict):
    RULES = CAMPAIGN_RULES

    name = Text(validate=validate.Length(min=1, max=200))
    type = fields.String(validate=validate.OneOf(TYPES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    budget = Money(minimum=0, allow_none=True)
    actual_cost = Money(minimum=0, allow_none=True)
    expected_revenue = Money(minimum=0, allow_none=True)
    currency = Currency()
    starts_on = Day(allow_none=True)
    ends_on = Day(allow_none=True)
    segment_ids = fields.List(Id(), validate=validate.Length(max=20))
    template_id = Id(allow_none=True)
    from_name = Text(allow_none=True, validate=validate.Length(max=100))
    from_email = EmailAddress(allow_none=True)
    reply_to = EmailAddress(allow_none=True)
    variants = fields.List(fields.Nested(VariantIn), validate=validate.Length(max=5), metadata={
        "description": "A/B variants (none, or 2 to 5): labelled A, B, ... in this order"})
    ab_metric = fields.String(allow_none=True, validate=validate.OneOf(AB_METRICS),
                              metadata={"description": "how the winner is picked (default opens)"})
    ab_test_share = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=100),
                                   metadata={"description": "percent of the audience in the test (default 20); "
                                                            "the winner goes to the rest"})
    ab_wait_minutes = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=43_200),
                                     metadata={"description": "minutes from the test to the winner (default 240)"})
    topic = fields.String(allow_none=True, validate=validate.OneOf(TOPICS), metadata={
        "description": "the content topic the campaign is for (sales' content subscriptions): its send skips "
                       "whoever unsubscribed from it (skip_reason topic_unsubscribed); other topics still reach them"})


class CampaignIn(CampaignFields):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(load_default="email", validate=validate.OneOf(TYPES))
    status = fields.String(load_default="draft", validate=validate.OneOf(STATUSES), metadata={
        "description": "an email campaign starts as a draft; another type may be recorded in any status"})
    currency = Currency(load_default="USD")
    segment_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=20))
    variants = fields.List(fields.Nested(VariantIn), load_default=list, validate=validate.Length(max=5))


class CampaignPatch(CampaignFields, Patch):
    OPENAPI = AT_LEAST_ONE_FIELD


class Variant(Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    template_id = fields.String(required=True)
    share = fields.Integer(required=True)
    is_winner = fields.Boolean(required=True)


class Campaign(Record):
    """A campaign (`version` is its ETag)."""

    name = fields.String(required=True)
    type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    budget = Money(allow_none=True)
    actual_cost = Money(allow_none=True)
    expected_revenue = Money(allow_none=True)
    currency = fields.String()
    starts_on = Day(allow_none=True)
    ends_on = Day(allow_none=True)
    segment_ids = fields.List(fields.String())
    template_id = fields.String(allow_none=True)
    from_name = fields.String(allow_none=True)
    from_email = fields.String(allow_none=True)
    reply_to = fields.String(allow_none=True)
    variants = fields.List(fields.Nested(Variant))
    ab_metric = fields.String(allow_none=True)
    ab_test_share = fields.Integer(allow_none=True)
    ab_wait_minutes = fields.Integer(allow_none=True)
    winner_variant_id = fields.String(allow_none=True)
    topic = fields.String(allow_none=True)
    scheduled_at = Timestamp(allow_none=True)
    sent_at = Timestamp(allow_none=True)
    send_job_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)


class CampaignQuery(ListQuery):
    """`?type=&status=&q=` (q searches names)."""

    SORTABLE = ("created_at", "updated_at", "name", "starts_on")
    type = fields.String(validate=validate.OneOf(TYPES))
    status = fields.String(validate=validate.OneOf(STATUSES))


CampaignPage = page(Campaign, "CampaignPage")


class Counts(Schema):
    recipients = fields.Integer(required=True, metadata={"description": "addresses in the send log"})
    sent = fields.Integer(required=True, metadata={"description": "handed to SMTP"})
    delivered = fields.Integer(required=True, metadata={"description": "sent and not bounced"})
    bounced = fields.Integer(required=True, metadata={"description": "refused at send time or bounced later"})
    opened = fields.Integer(required=True, metadata={"description": "people's opens (machines' apart)"})
    unique_opens = fields.Integer(required=True,
                                  metadata={"description": "messages a person opened or clicked (a click "
                                                           "is an open whose images were blocked)"})
    clicked = fields.Integer(required=True, metadata={"description": "people's clicks"})
    unique_clicks = fields.Integer(required=True, metadata={"description": "messages a person clicked"})
    unsubscribed = fields.Integer(required=True)
    complaints = fields.Integer(required=True)
    machine_opens = fields.Integer(required=True,
                                   metadata={"description": "opens by image proxies and scanners"})
    machine_clicks = fields.Integer(required=True, metadata={"description": "clicks by link scanners"})


class VariantStats(Counts):
    id = fields.String(required=True)
    label = fields.String(required=True)
    template_id = fields.String(required=True)
    share = fields.Integer(required=True)
    is_winner = fields.Boolean(required=True)


class CampaignStats(Counts):
    """What the campaign's mail did and what it earned: leads and opportunities attributed to it by
    sales (their campaign_id), the won amount in the campaign's currency, the cost and the ROI."""

    campaign_id = fields.String(required=True)
    leads = fields.Integer(required=True)
    opportunities = fields.Integer(required=True)
    won = fields.Integer(required=True, metadata={"description": "opportunities won"})
    won_amount = Money(required=True, metadata={"description": "won in the campaign's currency"})
    won_other_currencies = fields.List(fields.Dict(), required=True, metadata={
        "description": "won amounts in other currencies, not converted: [{currency, amount}]"})
    cost = Money(required=True, metadata={"description": "actual_cost (0.00 when not given)"})
    currency = fields.String(required=True)
    roi = fields.String(required=True, allow_none=True, metadata={
        "description": "(won_amount - cost) / cost as a decimal string; null when there is no cost"})
    variants = fields.List(fields.Nested(VariantStats), required=True)


# -- events ---------------------------------------------------------------------------------------

class CampaignEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    status = fields.String(required=True)
    changed_fields = fields.List(fields.String())
    actual_cost = fields.String(allow_none=True, metadata={"description": "for analytics: cost per lead, ROI"})
    currency = fields.String(allow_none=True)


CAMPAIGN_CREATED = event("marketing", "campaign_created", 1, CampaignEventData, "A campaign was created.",
                         entity="campaign", action="create")
CAMPAIGN_UPDATED = event("marketing", "campaign_updated", 1, CampaignEventData,
                         "A campaign was changed (changed_fields names what; status among them).",
                         entity="campaign", action="update")
CAMPAIGN_DELETED = event("marketing", "campaign_deleted", 1, CampaignEventData, "A campaign was deleted.",
                         entity="campaign", action="delete")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_CAMPAIGNS = rpc("marketing", "list_campaigns", CampaignQuery, CampaignPage, permission=READ,
                     description="The campaigns, newest first; filters type, status, q.")
CREATE_CAMPAIGN = rpc("marketing", "create_campaign", CampaignIn, Campaign, permission=CREATE,
                      description="A campaign (422 for segments or templates that do not exist, dates out of "
                                  "order, variants' shares not adding up to 100).")
GET_CAMPAIGN = rpc("marketing", "get_campaign", None, Campaign, permission=READ, record=True,
                   description="One campaign with its variants.")
UPDATE_CAMPAIGN = rpc("marketing", "update_campaign", CampaignPatch, Campaign, permission=UPDATE, record=True,
                      description="Change a campaign (409 for a status the flow does not allow, or for anything "
                                  "but actual_cost once it is sending or sent).")
DELETE_CAMPAIGN = rpc("marketing", "delete_campaign", None, None, permission=DELETE, record=True,
                      description="Delete a campaign (409 while it is sending).")
CAMPAIGN_STATS = rpc("marketing", "campaign_stats", None, CampaignStats, permission=READ, record=True,
                     description="What the campaign's mail did, per variant too, and what it earned.")
