"""Support groups, their agents, and the routing rules that send new tickets to groups; the events of
every configuration record (groups, rules, calendars, policies, contracts)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, existing
from crm_common.contracts.registry import FROM_DATA
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict

from crm_service_desk_contracts.base import (ASSIGNMENT, CHANNELS, GRADES, PRIORITIES, TYPES, choice, crud, event,
                                             ident, required_text, rpc)

NAMED = ("created_at", "updated_at", "name")  # the sort keys of most configuration lists


class GroupSchema(Record):
    name = fields.String()
    manager_id = fields.String(allow_none=True)
    assignment = fields.String()
    member_ids = fields.List(fields.String())


class GroupCreateSchema(Strict):
    RULES = ("name is unique among groups", existing("manager_id", "member_ids"))

    name = required_text(200)
    manager_id = ident(allow_none=True)
    assignment = choice(ASSIGNMENT, load_default="round_robin")
    member_ids = fields.List(ident(), load_default=list, validate=validate.Length(max=500))


class GroupUpdateSchema(Patch):
    RULES = GroupCreateSchema.RULES

    name = Text(validate=validate.Length(min=1, max=200))
    manager_id = ident(allow_none=True)
    assignment = choice(ASSIGNMENT)
    member_ids = fields.List(ident(), validate=validate.Length(max=500))


class GroupQuery(ListQuery):
    SORTABLE = NAMED

    member_id = ident()


class AgentSchema(Schema):
    id = fields.String()
    email = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    is_active = Boolean()
    available = Boolean()
    open_tickets = fields.Integer(strict=True)
    group_ids = fields.List(fields.String())


class AgentUpdateSchema(Patch):
    available = Boolean(required=True)


class AgentQuery(Strict):
    group_id = ident()


class AgentList(Schema):
    items = fields.List(fields.Nested(AgentSchema))


class RoutingRuleSchema(Record):
    name = fields.String()
    position = fields.Integer(strict=True)
    active = Boolean()
    channel = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    account_grade = fields.String(allow_none=True)
    keywords = fields.List(fields.String())
    group_id = fields.String()


Keywords = fields.List(Text(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=50))
Position = validate.Range(min=0, max=100000)


class RoutingRuleCreateSchema(Strict):
    RULES = (existing("group_id"),)

    name = required_text(200)
    position = fields.Integer(strict=True, load_default=100, validate=Position)
    active = Boolean(load_default=True)
    channel = choice(CHANNELS, allow_none=True)
    type = choice(TYPES, allow_none=True)
    priority = choice(PRIORITIES, allow_none=True)
    account_grade = choice(GRADES, allow_none=True)
    keywords = Keywords
    group_id = ident(required=True)


class RoutingRuleUpdateSchema(Patch):
    RULES = (existing("group_id"),)

    name = Text(validate=validate.Length(min=1, max=200))
    position = fields.Integer(strict=True, validate=Position)
    active = Boolean()
    channel = choice(CHANNELS, allow_none=True)
    type = choice(TYPES, allow_none=True)
    priority = choice(PRIORITIES, allow_none=True)
    account_grade = choice(GRADES, allow_none=True)
    keywords = Keywords
    group_id = ident()


class RoutingRuleQuery(ListQuery):
    SORTABLE = ("created_at", "updated_at", "position", "name")


class ConfigEventData(Schema):
    """Service desk configuration records (groups, rules, calendars, policies, contracts)."""
    entity = fields.String(required=True, metadata={"description": "group, routing_rule, business_hours, sla_policy "
                                                                   "or service_contract"})
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String())
    member_ids = fields.List(fields.String(), metadata={
        "description": "a group's agents after the change (a deleted group: none); the other entities: absent"})


CONFIG_CREATED = event("config_created", ConfigEventData, "A group, rule, calendar, policy or contract was created.",
                       FROM_DATA, "create")
CONFIG_UPDATED = event("config_updated", ConfigEventData, "A group, rule, calendar, policy or contract changed.",
                       FROM_DATA, "update")
CONFIG_DELETED = event("config_deleted", ConfigEventData, "A group, rule, calendar, policy or contract was deleted.",
                       FROM_DATA, "delete")

CREATE_GROUP, LIST_GROUPS, GET_GROUP, UPDATE_GROUP, DELETE_GROUP = crud(
    "group", GroupSchema, GroupCreateSchema, GroupUpdateSchema, GroupQuery)
LIST_AGENTS = rpc("list_agents", AgentQuery, AgentList, "Agents with their groups and open load.",
                  permission=("group", "read"))
UPDATE_AGENT = rpc("update_agent", AgentUpdateSchema, AgentSchema,
                   "An agent's availability (another agent's needs group.update, checked by the service).",
                   permission=("group", "read"), record=True)
CREATE_ROUTING_RULE, LIST_ROUTING_RULES, GET_ROUTING_RULE, UPDATE_ROUTING_RULE, DELETE_ROUTING_RULE = crud(
    "routing_rule", RoutingRuleSchema, RoutingRuleCreateSchema, RoutingRuleUpdateSchema, RoutingRuleQuery)
