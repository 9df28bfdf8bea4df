"""Accounts and contacts: lists with filters and paging, and each record's page with its whole timeline
(deals, tickets, calls and meetings, comments) and a comment box."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api, timeline
from crm_console.lists import LISTS
from crm_console.views.common import field_errors, list_page, signed_in, visible
from crm_console.views.leads import _id
from crm_console.views.lists import tools

accounts = Blueprint("accounts", __name__, url_prefix="/accounts")
contacts = Blueprint("contacts", __name__, url_prefix="/contacts")
GRADES = ("A", "B", "C")
ACCOUNT_SORTS, CONTACT_SORTS = LISTS["accounts"].sorts, LISTS["contacts"].sorts


def _comment(resource: str, record_id: str, endpoint: str, **kwargs):
    """Post the comment box; the API's refusal comes back beside the field."""
    try:
        api.call("POST", f"/{resource}/{record_id}/comments", json={"body": request.form.get("body", "")})
    except api.ApiError as exc:
        if exc.status != 422:
            raise
        return field_errors(exc)
    flash(_("Comment added."), "ok")
    return redirect(url_for(endpoint, **kwargs))


@accounts.route("/")
@signed_in
def index():
    page, filters, sort, errors = list_page("/accounts", LISTS["accounts"].filters, ACCOUNT_SORTS)
    return render_template("accounts/index.html", page=page, filters=filters, sort=sort, errors=errors,
                           grades=GRADES, sorts=ACCOUNT_SORTS, cursor=request.args.get("cursor"), **tools("accounts"))


@accounts.route("/<account_id>", methods=["GET", "POST"])
@signed_in
def show(account_id):
    account_id, errors = _id(account_id), {}
    if request.method == "POST":
        done = _comment("accounts", account_id, "accounts.show", account_id=account_id)
        if not isinstance(done, dict):
            return done
        errors = done
    account = api.call("GET", f"/accounts/{account_id}")
    people = api.call("GET", "/contacts", params={"account_id": account_id, "limit": 50, "sort": "last_name"})
    entries, missing = timeline.of_account(account_id)
    return render_template("accounts/show.html", account=account, contacts=people.get("items", []),
                           entries=entries, missing=missing, errors=errors), 422 if errors else 200


@contacts.route("/")
@signed_in
def index():
    page, filters, sort, errors = list_page("/contacts", LISTS["contacts"].filters, CONTACT_SORTS)
    return render_template("contacts/index.html", page=page, filters=filters, sort=sort, errors=errors,
                           sorts=CONTACT_SORTS, cursor=request.args.get("cursor"), **tools("contacts"))


@contacts.route("/<contact_id>", methods=["GET", "POST"])
@signed_in
def show(contact_id):
    contact_id, errors = _id(contact_id), {}
    if request.method == "POST":
        done = _comment("contacts", contact_id, "contacts.show", contact_id=contact_id)
        if not isinstance(done, dict):
            return done
        errors = done
    contact = api.call("GET", f"/contacts/{contact_id}")
    account = visible(f"/accounts/{contact['account_id']}") if contact.get("account_id") else None
    entries, missing = timeline.of_contact(contact)
    return render_template("contacts/show.html", contact=contact, account=account, entries=entries,
                           missing=missing, errors=errors), 422 if errors else 200


BLUEPRINTS = (accounts, contacts)
