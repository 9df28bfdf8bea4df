"""Activities (calls, meetings, tasks, notes), reminders, the calendar and telemarketing call lists."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Timestamp, at_least_one_of, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import EntityData, Id, Name, TextUpTo

ACTIVITY_TYPES = ("call", "meeting", "task", "note")
ACTIVITY_STATUSES = ("open", "done", "cancelled")
CALL_OUTCOMES = ("connected", "no_answer", "voicemail", "busy", "wrong_number", "callback_requested",
                 "not_interested", "interested")


class ActivityFields(Strict):
    RULES = ("ends_at is after starts_at", "a meeting has starts_at and ends_at, a task a due_at",
             "outcome, duration_seconds and callback_at are for calls; remind_at for calls, meetings and tasks",
             "owner_id names someone else only with the activity assign permission")

    subject = Name(300)
    description = TextUpTo(10000, allow_none=True)
    starts_at = Timestamp(allow_none=True)
    ends_at = Timestamp(allow_none=True)
    due_at = Timestamp(allow_none=True)
    remind_at = Timestamp(allow_none=True)
    owner_id = Id(allow_none=True)
    participant_ids = fields.List(Id(), validate=validate.Length(max=100))
    lead_id = Id(allow_none=True)
    account_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    opportunity_id = Id(allow_none=True)
    status = fields.String(validate=validate.OneOf(ACTIVITY_STATUSES))
    outcome = fields.String(allow_none=True, validate=validate.OneOf(CALL_OUTCOMES))
    duration_seconds = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=86400))
    callback_at = Timestamp(allow_none=True, metadata={"description": "a call: schedules a follow-up call"})
    allow_conflict = Boolean(load_default=False)


class ActivityCreate(ActivityFields):
    type = fields.String(required=True, validate=validate.OneOf(ACTIVITY_TYPES))
    subject = Name(300, required=True)


class ActivityUpdate(ActivityFields, Patch):
    pass


class Activity(Record):
    type = fields.String()
    subject = fields.String()
    description = fields.String(allow_none=True)
    starts_at = Timestamp(allow_none=True)
    ends_at = Timestamp(allow_none=True)
    due_at = Timestamp(allow_none=True)
    remind_at = Timestamp(allow_none=True)
    reminded_at = Timestamp(allow_none=True, metadata={"description": "when the reminder went out (null: not yet)"})
    owner_id = fields.String(allow_none=True)
    participant_ids = fields.List(fields.String())
    lead_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    call_list_id = fields.String(allow_none=True)
    status = fields.String()
    outcome = fields.String(allow_none=True)
    duration_seconds = fields.Integer(strict=True, allow_none=True)
    callback_at = Timestamp(allow_none=True)


class ActivityFilters(Schema):
    SORTABLE = ("created_at", "starts_at", "due_at")
    type = fields.String(validate=validate.OneOf(ACTIVITY_TYPES))
    status = fields.String(validate=validate.OneOf(ACTIVITY_STATUSES))
    owner_id = Id()
    lead_id = Id()
    account_id = Id()
    contact_id = Id()
    opportunity_id = Id()


ActivityListQuery = list_query("ActivityListQuery", ActivityFilters)
ActivityPage = page(Activity, "ActivityPage")


class _CalendarWindow(Strict):
    RULES = ("to is after from, within a year",)


# `from` and `to` are the fields' names (not Python names), so the loaded query reads as it was sent
CalendarQuery = _CalendarWindow.from_dict({"user_id": Id(), "team_id": Id(), "from": Timestamp(required=True),
                                           "to": Timestamp(required=True)}, name="CalendarQuery")


class Calendar(Schema):
    items = fields.List(fields.Nested(Activity))


# -- call lists --------------------------------------------------------------------------------------

class CallListCreate(Strict):
    OPENAPI = at_least_one_of(contact_ids="array", account_id="string")
    RULES = (existing("contact_ids", "account_id"), "owner_id names someone else only with the call list assign "
                                                    "permission")

    name = Name(required=True)
    owner_id = Id(allow_none=True, metadata={"description": "the rep who makes the calls"})
    contact_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=5000))
    account_id = Id(allow_none=True, metadata={"description": "add every contact of this account"})


class CallListItem(Schema):
    contact_id = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    activity_id = fields.String(allow_none=True)


class CallList(Record):
    name = fields.String()
    owner_id = fields.String(allow_none=True)
    items = fields.List(fields.Nested(CallListItem))
    skipped = fields.List(fields.Dict())


class CallLog(Strict):
    RULES = ("contact_id is on the call list",)

    contact_id = Id(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(CALL_OUTCOMES))
    duration_seconds = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=86400))
    description = TextUpTo(10000, allow_none=True)
    callback_at = Timestamp(allow_none=True)


class CallListFilters(Schema):
    SORTABLE = ("created_at", "name")
    owner_id = Id()


CallListQuery = list_query("CallListQuery", CallListFilters)
CallListPage = page(CallList, "CallListPage")


# -- events ------------------------------------------------------------------------------------------

class ActivityEventData(EntityData):
    type = fields.String(required=True)
    subject = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    starts_at = Timestamp(allow_none=True)


class ActivityReminderData(ActivityEventData):
    due_at = Timestamp(allow_none=True)
    remind_at = Timestamp(required=True)


ACTIVITY_LOGGED = event("sales", "activity_logged", 1, ActivityEventData, "", entity="activity", action="create")
ACTIVITY_REMINDER_DUE = event("sales", "activity_reminder_due", 1, ActivityReminderData,
                              "An open activity's reminder time came: its owner is to be reminded (sent once; "
                              "moving remind_at arms it again).")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_ACTIVITIES = rpc("sales", "list_activities", ActivityListQuery, ActivityPage, permission=("activity", "read"))
CREATE_ACTIVITY = rpc("sales", "create_activity", ActivityCreate, Activity, permission=("activity", "create"),
                      description="A call, meeting, task or note; a meeting that overlaps another of the same "
                                  "participant is a 409 listing `conflicts` unless allow_conflict.")
GET_ACTIVITY = rpc("sales", "get_activity", None, Activity, permission=("activity", "read"), record=True)
UPDATE_ACTIVITY = rpc("sales", "update_activity", ActivityUpdate, Activity, permission=("activity", "update"),
                      record=True)
DELETE_ACTIVITY = rpc("sales", "delete_activity", None, None, permission=("activity", "delete"), record=True)
CALENDAR = rpc("sales", "calendar", CalendarQuery, Calendar, permission=("activity", "read"),
               description="A user's (default: yours) or a team's activities between `from` and `to`.")

LIST_CALL_LISTS = rpc("sales", "list_call_lists", CallListQuery, CallListPage, permission=("call_list", "read"))
CREATE_CALL_LIST = rpc("sales", "create_call_list", CallListCreate, CallList, permission=("call_list", "create"),
                       description="A call list of contacts (those who must not be called, or have no phone, are "
                                   "skipped).")
GET_CALL_LIST = rpc("sales", "get_call_list", None, CallList, permission=("call_list", "read"), record=True)
LOG_CALL = rpc("sales", "log_call", CallLog, CallList, permission=("call_list", "update"), record=True,
               description="Log a call to a contact on the list (outcome, duration, callback).")
