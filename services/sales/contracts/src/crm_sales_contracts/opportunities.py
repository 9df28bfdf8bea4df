"""Opportunities: stages of a pipeline with default probabilities, lost reasons, stage history, pipelines."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Day, Money, Timestamp, existing
from crm_common.contracts.records import CustomListQuery, CustomValues, TagFilter, Tags
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import ChangedData, Currency, EntityData, Id, Name, TextUpTo

DEFAULT_STAGES = (("prospecting", 10), ("qualification", 20), ("proposal", 50), ("negotiation", 75),
                  ("closed_won", 100), ("closed_lost", 0))
STAGE_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$", error="a stage name: lower-case letters, digits and _")


class OpportunityFields(Strict):
    RULES = ("stage is a stage of the deal's pipeline", "closed_lost needs a lost_reason",
             existing("account_id", "contact_id", "pipeline_id"), "contact_id is a contact of account_id")

    name = Name()
    account_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    owner_id = Id(allow_none=True)
    amount = Money(minimum=0)
    currency = Currency()
    stage = fields.String(validate=STAGE_NAME, metadata={
        "description": "a stage of the deal's pipeline; the default pipeline's: "
                       + ", ".join(name for name, _ in DEFAULT_STAGES)})
    probability = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    expected_close_date = Day(allow_none=True)
    lost_reason = TextUpTo(500, allow_none=True)
    campaign_id = Id(allow_none=True)
    forecast_category = fields.String(validate=validate.OneOf(("pipeline", "best_case", "commit", "omitted")))
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class OpportunityCreate(OpportunityFields):
    name = Name(required=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)
    pipeline_id = Id(allow_none=True)


class OpportunityUpdate(OpportunityFields, Patch):
    pass


class Opportunity(Record):
    name = fields.String()
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()
    pipeline_id = fields.String(allow_none=True)
    stage = fields.String()
    probability = fields.Integer(strict=True)
    forecast_category = fields.String()
    expected_close_date = Day(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    stage_entered_at = Timestamp()
    lead_id = fields.String(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class OpportunityFilters(CustomListQuery):  # ?custom.<name>=, sort=custom.<name>
    SORTABLE = ("created_at", "updated_at", "amount", "expected_close_date", "name")
    stage = fields.String(validate=validate.Length(max=50))
    owner_id = Id()
    account_id = Id()
    territory_id = Id()
    campaign_id = Id()
    tag = TagFilter()


OpportunityListQuery = list_query("OpportunityListQuery", OpportunityFilters)
OpportunityPage = page(Opportunity, "OpportunityPage")


class HistoryEntry(Schema):
    stage = fields.String()
    probability = fields.Integer(strict=True)
    amount = Money(allow_none=True)
    changed_at = Timestamp()
    changed_by = fields.String(allow_none=True)
    left_at = Timestamp(allow_none=True)
    seconds_in_stage = fields.Integer(strict=True, metadata={"description": "time spent in the stage (so far, if current)"})


class History(Schema):
    items = fields.List(fields.Nested(HistoryEntry))


class StageDef(Strict):
    name = fields.String(required=True, validate=STAGE_NAME)
    probability = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))


class PipelineCreate(Strict):
    RULES = ("stage names are unique", "the stages include closed_won and closed_lost")

    name = Name(required=True)
    stages = fields.List(fields.Nested(StageDef), required=True, validate=validate.Length(min=2, max=30))


class Pipeline(Record):
    name = fields.String()
    stages = fields.List(fields.Dict())


class PipelineList(Schema):
    items = fields.List(fields.Nested(Pipeline))


# -- events ------------------------------------------------------------------------------------------

class OpportunityEventData(EntityData):
    name = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    probability = fields.Integer(strict=True, allow_none=True)
    expected_close_date = Day(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = fields.List(fields.String())


class OpportunityUpdatedData(OpportunityEventData, ChangedData):
    pass


class StageChangedData(EntityData):
    from_stage = fields.String(required=True)
    to_stage = fields.String(required=True)
    probability = fields.Integer(strict=True, required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)


OPPORTUNITY_CREATED = event("sales", "opportunity_created", 1, OpportunityEventData, "", entity="opportunity",
                            action="create")
OPPORTUNITY_UPDATED = event("sales", "opportunity_updated", 1, OpportunityUpdatedData, "", entity="opportunity",
                            action="update")
OPPORTUNITY_STAGE_CHANGED = event("sales", "opportunity_stage_changed", 1, StageChangedData, "",
                                  entity="opportunity", action="update")
OPPORTUNITY_WON = event("sales", "opportunity_won", 1, OpportunityEventData, "", entity="opportunity",
                        action="update")
OPPORTUNITY_LOST = event("sales", "opportunity_lost", 1, OpportunityEventData, "", entity="opportunity",
                         action="update")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_OPPORTUNITIES = rpc("sales", "list_opportunities", OpportunityListQuery, OpportunityPage,
                         permission=("opportunity", "read"))
CREATE_OPPORTUNITY = rpc("sales", "create_opportunity", OpportunityCreate, Opportunity,
                         permission=("opportunity", "create"))
GET_OPPORTUNITY = rpc("sales", "get_opportunity", None, Opportunity, permission=("opportunity", "read"), record=True)
UPDATE_OPPORTUNITY = rpc("sales", "update_opportunity", OpportunityUpdate, Opportunity,
                         permission=("opportunity", "update"), record=True,
                         description="Change a deal; its stage by `{stage}` (closed_lost needs a lost_reason).")
DELETE_OPPORTUNITY = rpc("sales", "delete_opportunity", None, None, permission=("opportunity", "delete"), record=True)
OPPORTUNITY_HISTORY = rpc("sales", "opportunity_history", None, History, permission=("opportunity", "read"),
                          record=True, description="Every stage with when, who and the time spent in it.")
LIST_PIPELINES = rpc("sales", "list_pipelines", None, PipelineList, permission=("opportunity", "read"))
CREATE_PIPELINE = rpc("sales", "create_pipeline", PipelineCreate, Pipeline, permission=("opportunity", "admin"))
