"""Lead scoring (`/api/v1/scoring-rules`, `GET /api/v1/leads/{id}/score`): points for what a lead is and
what it did, with decay; the score reaches the lead in sales by `marketing.score_changed.v1`.

A rule is `attribute` (its condition is a leaf over the lead, or `all`/`any` of leaves: `{"field":
"industry", "op": "eq", "value": "Software"}`) or `behaviour` (`{"behaviour": "email_clicked", "ref_id"?:
campaign, form..., "within_days"?: n, "where"?: leaf over the activity's detail}`: every occurrence is worth
`points`, at most `max_occurrences` of them count, each losing its value linearly over `decay_days`).
A lead's score is the sum of its rules' points, clamped to 0..100.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

KINDS = ("attribute", "behaviour")
# the lead attributes a condition may name (marketing's copy of the lead: crm_marketing.models.AudienceMember)
ATTRIBUTES = ("first_name", "last_name", "company", "title", "email_domain", "country", "industry", "grade",
              "lifecycle_stage", "lead_status", "tags", "campaign_id")
OPS = ("eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with", "exists", "not_exists")
BEHAVIOURS = ("email_sent", "email_opened", "email_clicked", "unsubscribed", "bounced", "complained",
              "form_submitted", "order_placed", "ticket_opened", "ticket_solved", "survey_answered")
CONDITION_RULE = ("condition matches kind: an attribute rule's is a leaf {field, op, value} (field one of "
                  + ", ".join(ATTRIBUTES) + "; op one of " + ", ".join(OPS) + ") or {all|any: [leaves]}; a "
                  "behaviour rule's is {behaviour, ref_id?, within_days?, where?} (behaviour one of "
                  + ", ".join(BEHAVIOURS) + "; where a leaf over the activity's detail)")
DECAY_RULE = "decay_days and max_occurrences apply to behaviour rules only"
READ, CREATE, UPDATE, DELETE = (("scoring_rule", action) for action in ("read", "create", "update", "delete"))

class Condition(fields.Dict):
    """A rule's condition (a JSON object; its shape is checked against the rule's kind)."""

    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), values=fields.Raw(allow_none=True),
                         metadata={"description": CONDITION_RULE, **kwargs.pop("metadata", {})}, **kwargs)


class ScoringRule(Record):
    """A scoring rule (`version` is its ETag)."""

    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    condition = fields.Dict(required=True)
    points = fields.Integer(strict=True, required=True)
    decay_days = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "behaviour points lose their value linearly: an occurrence this many days old is worth 0"})
    max_occurrences = fields.Integer(strict=True, allow_none=True, metadata={
        "description": "behaviour: how many occurrences count at most (the most recent)"})
    active = Boolean()
    created_by = fields.String(allow_none=True)


class _RuleFields(Strict):
    RULES = (CONDITION_RULE, DECAY_RULE)

    name = Text(validate=validate.Length(min=1, max=200))
    condition = Condition()
    points = fields.Integer(strict=True, validate=validate.Range(min=-100, max=100))
    decay_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650))
    max_occurrences = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    active = Boolean()


class ScoringRuleIn(_RuleFields):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    condition = Condition(required=True)
    points = fields.Integer(strict=True, required=True, validate=validate.Range(min=-100, max=100))
    active = Boolean(load_default=True)


class ScoringRuleUpdate(_RuleFields, Patch):
    """A partial update; the kind stays (write a new rule for another kind)."""


class ScoringRuleQuery(ListQuery):
    SORTABLE = ("created_at", "name", "points")
    RULES = (CURSOR_RULE,)

    kind = fields.String(validate=validate.OneOf(KINDS))
    active = fields.Boolean()


ScoringRulePage = page(ScoringRule, "ScoringRulePage")


class ScorePoint(Schema):
    """Where points came from: a rule (`rule_id`, its name), or the clamp to 0..100 (`rule_id` null)."""

    rule_id = fields.String(allow_none=True)
    rule = fields.String(required=True)
    points = fields.Integer(strict=True, required=True)
    detail = fields.String(required=True)
    decayed_from = fields.Integer(strict=True, metadata={"description": "what the points were before decay"})


class LeadScore(Schema):
    """A lead's score with every point explained: the entries of `points` sum to `score`."""

    lead_id = fields.String(required=True)
    score = fields.Integer(strict=True, required=True)
    computed_at = Timestamp(required=True)
    points = fields.List(fields.Nested(ScorePoint), required=True)
    sent_to_sales = Boolean(required=True, metadata={
        "description": "false while no rule ever gave the lead points: sales keeps the score it has"})


# -- events ------------------------------------------------------------------------------------------

class ScoringRuleData(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    changed_fields = fields.List(fields.String())


class ScoreChangedData(Schema):
    lead_id = fields.String(required=True)
    score = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))
    previous = fields.Integer(strict=True, allow_none=True)


SCORING_RULE_CREATED = event("marketing", "scoring_rule_created", 1, ScoringRuleData, "A scoring rule was written.",
                             entity="scoring_rule", action="create")
SCORING_RULE_UPDATED = event("marketing", "scoring_rule_updated", 1, ScoringRuleData, "A scoring rule was changed.",
                             entity="scoring_rule", action="update")
SCORING_RULE_DELETED = event("marketing", "scoring_rule_deleted", 1, ScoringRuleData, "A scoring rule was deleted.",
                             entity="scoring_rule", action="delete")
SCORE_CHANGED = event("marketing", "score_changed", 1, ScoreChangedData,
                      "A lead's score changed: sales sets lead.score (its lead update is what the audit trail "
                      "records); previous is the score last sent, null at first.")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_SCORING_RULES = rpc("marketing", "list_scoring_rules", ScoringRuleQuery, ScoringRulePage, permission=READ,
                         description="The scoring rules; filters kind, active, q (the name).")
CREATE_SCORING_RULE = rpc("marketing", "create_scoring_rule", ScoringRuleIn, ScoringRule, permission=CREATE,
                          description="Write a scoring rule; every lead is rescored with it.")
GET_SCORING_RULE = rpc("marketing", "get_scoring_rule", None, ScoringRule, permission=READ, record=True,
                       description="One scoring rule.")
UPDATE_SCORING_RULE = rpc("marketing", "update_scoring_rule", ScoringRuleUpdate, ScoringRule, permission=UPDATE,
                          record=True, description="Change a scoring rule; every lead is rescored with it.")
DELETE_SCORING_RULE = rpc("marketing", "delete_scoring_rule", None, None, permission=DELETE, record=True,
                          description="Delete a scoring rule; the leads it gave points lose them.")
GET_LEAD_SCORE = rpc("marketing", "get_lead_score", None, LeadScore, permission=READ, record=True,
                     description="A lead's score with every point explained (the scoring_rule read permission: "
                                 "marketers and analysts; marketing does not apply sales' record scope).")
