"""The records workflows act on, and which service owns each: its RPC methods (never its tables)."""
from __future__ import annotations

# resource -> (service, get method, update method, the field that holds its owner)
RESOURCES = {
    "lead": ("sales", "get_lead", "update_lead", "owner_id"),
    "account": ("sales", "get_account", "update_account", "owner_id"),
    "contact": ("sales", "get_contact", "update_contact", "owner_id"),
    "opportunity": ("sales", "get_opportunity", "update_opportunity", "owner_id"),
    "quote": ("sales", "get_quote", "update_quote", "owner_id"),
    "contract": ("sales", "get_contract", "update_contract", "owner_id"),
    "activity": ("sales", "get_activity", "update_activity", "owner_id"),
    "ticket": ("service_desk", "get_ticket", "update_ticket", "assignee_id"),
    "complaint": ("service_desk", "get_complaint", "update_complaint", "owner_id"),
}
# a task links to the record through the activity's own fields
TASK_LINKS = {"lead": "lead_id", "account": "account_id", "contact": "contact_id", "opportunity": "opportunity_id",
              "contract": "contract_id"}


def owner_field(resource: str | None) -> str:
    return RESOURCES.get(resource, (None, None, None, "owner_id"))[3]
# what a create_record action may create: resource -> (service, method)
CREATABLE = {"opportunity": ("sales", "create_opportunity"), "lead": ("sales", "create_lead"),
             "ticket": ("service_desk", "create_ticket")}
