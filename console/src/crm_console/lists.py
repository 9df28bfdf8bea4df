"""The lists the console shows (leads, accounts, contacts, opportunities, tickets) described once: the API path,
the filters and sorts it takes, the columns of its XLSX export, and which fields a bulk edit may set.

Saved views (a list's filters and sort under a name) are the user's own. The API has no route for them, so the
console keeps them in its server-side session store (SQLite or Redis, crm_console.sessions) under a key of the
user's id, apart from any session: they stay across sign-outs and browsers, and are never shared."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask import current_app, session

VIEWS_TTL = 400 * 24 * 3600  # a saved view not touched for this long is forgotten (each save renews them all)
MAX_VIEWS = 20


@dataclass(frozen=True)
class ListSpec:
    name: str  # the URL's and the store's name of the list
    path: str  # the API's list
    endpoint: str  # the console's page of the list
    resource: str  # the grant that governs it
    filters: tuple
    sorts: tuple
    columns: tuple  # the XLSX export: (field, type) as crm_common.exports.write_xlsx takes them
    bulk: dict = field(default_factory=dict)  # field a bulk edit may set -> its choices ("users": the users)


LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified")
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
TICKET_STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")

LISTS = {spec.name: spec for spec in (
    ListSpec("leads", "/leads", "leads.index", "lead", ("status", "source", "country", "industry", "q"),
             ("-created_at", "created_at", "last_name", "-last_name", "company", "-company", "-score", "score",
              "status"),
             (("first_name", "text"), ("last_name", "text"), ("company", "text"), ("email", "text"),
              ("phone", "text"), ("country", "text"), ("status", "text"), ("source", "text"), ("score", "integer"),
              ("created_at", "datetime")),
             {"owner_id": "users", "status": LEAD_STATUSES}),
    ListSpec("accounts", "/accounts", "accounts.index", "account", ("q", "grade", "country", "industry"),
             ("name", "-created_at", "-total_value"),
             (("name", "text"), ("industry", "text"), ("country", "text"), ("website", "text"), ("grade", "text"),
              ("lifecycle_stage", "text"), ("created_at", "datetime")),
             {"owner_id": "users"}),
    ListSpec("contacts", "/contacts", "contacts.index", "contact", ("q", "email", "account_id"),
             ("last_name", "-created_at"),
             (("first_name", "text"), ("last_name", "text"), ("title", "text"), ("email", "text"),
              ("phone", "text"), ("created_at", "datetime")),
             {"owner_id": "users"}),
    ListSpec("opportunities", "/opportunities", "deals.index", "opportunity", ("q", "stage", "owner_id"),
             ("-created_at", "expected_close_date", "-amount", "name"),
             (("name", "text"), ("stage", "text"), ("amount", "money"), ("currency", "text"),
              ("probability", "integer"), ("expected_close_date", "date"), ("created_at", "datetime")),
             {"owner_id": "users", "stage": STAGES}),
    ListSpec("tickets", "/tickets", "tickets.queue", "ticket", ("q", "status", "priority"),
             ("-created_at", "created_at", "number"),
             (("number", "text"), ("subject", "text"), ("status", "text"), ("priority", "text"), ("channel", "text"),
              ("requester_email", "text"), ("sla_breached", "boolean"), ("created_at", "datetime")),
             {"assignee_id": "users", "status": TICKET_STATUSES}),
)}


def query_of(spec: ListSpec, args) -> tuple[dict, str]:
    """The filters (the list's own, trimmed) and the sort a query string asks for."""
    filters = {name: args[name].strip()[:200] for name in spec.filters if (args.get(name) or "").strip()}
    sort = args.get("sort") if args.get("sort") in spec.sorts else spec.sorts[0]
    return filters, sort


# -- saved views --------------------------------------------------------------------------------------

def _key() -> str | None:
    user_id = (session.get("me") or {}).get("id")
    return f"views:{user_id}" if user_id else None


def _all() -> dict:
    key = _key()
    return (current_app.session_interface.store.get(key) or {}) if key else {}


def views(spec: ListSpec) -> list[dict]:
    """The user's saved views of the list: [{id, name, filters, sort}], in the order saved."""
    return list(_all().get(spec.name) or [])


def save_view(spec: ListSpec, name: str, filters: dict, sort: str) -> dict | None:
    """Keep a view (a view of the same name is replaced); None when the user has no id to keep it under."""
    key = _key()
    if key is None:
        return None
    every = _all()
    kept = [v for v in every.get(spec.name) or [] if v["name"] != name][-(MAX_VIEWS - 1):]
    view = {"id": secrets.token_hex(6), "name": name, "filters": filters, "sort": sort}
    every[spec.name] = kept + [view]
    current_app.session_interface.store.put(key, every, VIEWS_TTL)
    return view


def delete_view(spec: ListSpec, view_id: str) -> None:
    key = _key()
    if key is None:
        return
    every = _all()
    every[spec.name] = [v for v in every.get(spec.name) or [] if v["id"] != view_id]
    current_app.session_interface.store.put(key, every, VIEWS_TTL)
