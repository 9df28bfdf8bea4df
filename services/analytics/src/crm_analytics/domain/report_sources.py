"""What a saved report may read: per source, its read model, the resource whose read scope applies, the date its
from/to filter, and its columns with their types (the export's typed cells)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    table: str
    resource: str
    date: str
    columns: dict  # name -> text | money | integer | number | datetime | date


SOURCES = {
    "opportunities": Source("opportunities", "opportunity", "created_at", {
        "id": "text", "name": "text", "account_id": "text", "owner_id": "text", "team_id": "text",
        "territory_id": "text", "stage": "text", "status": "text", "amount": "money", "currency": "text",
        "probability": "integer", "expected_close_date": "date", "source": "text", "campaign_id": "text",
        "lost_reason": "text", "created_at": "datetime", "closed_at": "datetime"}),
    "leads": Source("leads", "lead", "created_at", {
        "id": "text", "owner_id": "text", "territory_id": "text", "source": "text", "campaign_id": "text",
        "status": "text", "score": "integer", "created_at": "datetime", "converted_at": "datetime",
        "account_id": "text", "opportunity_id": "text"}),
    "tickets": Source("tickets", "ticket", "created_at", {
        "id": "text", "number": "text", "account_id": "text", "owner_id": "text", "group_id": "text",
        "channel": "text", "priority": "text", "type": "text", "status": "text", "sla_policy_id": "text",
        "created_at": "datetime", "first_responded_at": "datetime", "solved_at": "datetime", "reopened": "integer"}),
    "orders": Source("orders", "order", "placed_at", {
        "id": "text", "account_id": "text", "owner_id": "text", "status": "text", "total": "money",
        "currency": "text", "placed_at": "datetime"}),
    "activities": Source("activities", "activity", "occurred_at", {
        "id": "text", "owner_id": "text", "type": "text", "account_id": "text", "opportunity_id": "text",
        "occurred_at": "datetime"}),
    "accounts": Source("accounts", "account", "created_at", {
        "id": "text", "name": "text", "owner_id": "text", "territory_id": "text", "industry": "text",
        "country": "text", "lifecycle_stage": "text", "created_at": "datetime"}),
}
SUMMED = ("money", "integer", "number")
