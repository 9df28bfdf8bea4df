"""Teams: a name, a manager and members."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Strict, page


class TeamSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    manager_id = fields.String(allow_none=True)
    member_ids = fields.List(fields.String(), required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class TeamCreateSchema(Strict):
    RULES = ("manager_id names an active staff user", existing("member_ids"))

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    manager_id = fields.String(load_default=None, allow_none=True)
    member_ids = fields.List(fields.String(), load_default=list)


class TeamUpdateSchema(Patch):
    RULES = TeamCreateSchema.RULES

    name = fields.String(validate=validate.Length(min=1, max=120))
    manager_id = fields.String(allow_none=True)
    member_ids = fields.List(fields.String())


class TeamListArgs(ListQuery):
    """Teams: sort by created_at or name; `q` searches the name."""

    SORTABLE = ("created_at", "name")


TeamPage = page(TeamSchema, "TeamPage")


class TeamEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    manager_id = fields.String(required=True, allow_none=True)
    member_ids = fields.List(fields.String(), required=True)


class TeamUpdatedData(TeamEventData):
    changed_fields = fields.List(fields.String(), load_default=list)


TEAM_CREATED = event("identity", "team_created", 1, TeamEventData, "A team was created.",
                     entity="team", action="create")
TEAM_UPDATED = event("identity", "team_updated", 1, TeamUpdatedData, "A team changed.",
                     entity="team", action="update")
TEAM_DELETED = event("identity", "team_deleted", 1, TeamEventData, "An empty team was deleted.",
                     entity="team", action="delete")

LIST_TEAMS = rpc("identity", "list_teams", TeamListArgs, TeamPage, permission=("team", "read"))
GET_TEAM = rpc("identity", "get_team", None, TeamSchema, permission=("team", "read"), record=True)
CREATE_TEAM = rpc("identity", "create_team", TeamCreateSchema, TeamSchema, permission=("team", "create"))
UPDATE_TEAM = rpc("identity", "update_team", TeamUpdateSchema, TeamSchema, permission=("team", "update"),
                  record=True)
DELETE_TEAM = rpc("identity", "delete_team", None, None, permission=("team", "delete"), record=True,
                  description="Only a team without members (409 lists them).")
