"""The whole picture of an account or a contact, gathered from the API side by side: their deals, tickets,
activities (calls, meetings, tasks, notes) and comments, as one timeline newest first.

A part of the CRM that is down (or a list the user may not read) leaves the rest of the timeline and is
named on the page; nothing is read that the API would not show the user."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import copy_current_request_context, url_for

from crm_console import api

LIMIT = 50


def _items(path: str, params: dict | None = None) -> list[dict]:
    return (api.call("GET", path, params={"limit": LIMIT, **(params or {})}, may_refresh=False) or {}).get(
        "items", [])


def _deal(d: dict) -> dict:
    return {"kind": "deal", "at": d.get("updated_at") or d.get("created_at"), "title": d.get("name"),
            "code": d.get("stage"), "amount": d.get("amount"), "currency": d.get("currency"),
            "link": None}


def _ticket(t: dict) -> dict:
    return {"kind": "ticket", "at": t.get("created_at"), "title": f"{t.get('number') or ''} · {t.get('subject') or ''}",
            "code": t.get("status"), "link": url_for("tickets.show", ticket_id=t["id"]) if t.get("id") else None}


def _activity(a: dict) -> dict:
    return {"kind": a.get("type") or "task", "at": a.get("starts_at") or a.get("due_at") or a.get("created_at"),
            "title": a.get("subject"), "code": a.get("outcome") or a.get("status"), "link": None}


def _comment(c: dict) -> dict:
    return {"kind": "comment", "at": c.get("created_at"), "title": c.get("body"), "code": None, "link": None}


def gather(parts: dict) -> tuple[list[dict], list[str]]:
    """parts: name -> (path, params, shape[, keep]); the entries newest first and the names of parts missing."""
    api.ensure_fresh()

    def fetch(path, params):
        try:
            return _items(path, params), None
        except api.ApiError as exc:
            return [], exc.status
    with ThreadPoolExecutor(len(parts)) as pool:
        futures = {name: pool.submit(copy_current_request_context(fetch), spec[0], spec[1])
                   for name, spec in parts.items()}
        entries, missing = [], []
        for name, future in futures.items():
            items, failed = future.result()
            if failed:
                missing.append(name)
            keep = parts[name][3] if len(parts[name]) > 3 else None
            entries += [parts[name][2](item) for item in items if keep is None or keep(item)]
    entries.sort(key=lambda e: e.get("at") or "", reverse=True)
    return entries, missing


def of_account(account_id: str) -> tuple[list[dict], list[str]]:
    return gather({
        "deals": ("/opportunities", {"account_id": account_id, "sort": "-updated_at"}, _deal),
        "tickets": ("/tickets", {"account_id": account_id, "sort": "-created_at"}, _ticket),
        "activities": ("/activities", {"account_id": account_id, "sort": "-created_at"}, _activity),
        "comments": (f"/accounts/{account_id}/comments", {}, _comment),
    })


def of_contact(contact: dict) -> tuple[list[dict], list[str]]:
    parts = {
        "tickets": ("/tickets", {"contact_id": contact["id"], "sort": "-created_at"}, _ticket),
        "activities": ("/activities", {"contact_id": contact["id"], "sort": "-created_at"}, _activity),
        "comments": (f"/contacts/{contact['id']}/comments", {}, _comment),
    }
    if contact.get("account_id"):  # the API filters deals by account: the contact's own are kept
        parts["deals"] = ("/opportunities", {"account_id": contact["account_id"], "sort": "-updated_at"}, _deal,
                          lambda d: d.get("contact_id") == contact["id"])
    return gather(parts)
