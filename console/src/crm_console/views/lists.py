"""What every list offers: its XLSX export (the list as filtered and sorted, every page up to EXPORT_MAX rows,
times in the user's time zone), saved views (crm_console.lists) and the bulk edit of the rows ticked on a page
(owner, status or stage): one `PATCH` per record with its `If-Match`, each refusal counted and said."""
from __future__ import annotations

import io
import time
from collections import Counter
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, flash, redirect, request, session, url_for
from flask_babel import get_timezone, gettext as _, ngettext

from crm_console import api, lists
from crm_console.views.common import signed_in
from crm_console.views.leads import _id
from crm_console.vocabulary import N_

blp = Blueprint("lists", __name__, url_prefix="/lists")
EXPORT_MAX = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_TITLES = {"leads": N_("Leads"), "accounts": N_("Accounts"), "contacts": N_("Contacts"),
               "opportunities": N_("Opportunities"), "tickets": N_("Tickets")}


def _spec(name: str) -> lists.ListSpec:
    spec = lists.LISTS.get(name)
    if spec is None:
        raise api.ApiError(404, {})
    return spec


def _back(spec: lists.ListSpec, filters: dict, sort: str):
    return redirect(url_for(spec.endpoint) + "?" + urlencode({**filters, "sort": sort}))


def _local(row: dict, columns) -> dict:
    """Timestamps in the user's time zone (a spreadsheet's cell has none)."""
    zone, out = get_timezone(), dict(row)
    for name, kind in columns:
        if kind == "datetime" and row.get(name):
            moment = datetime.fromisoformat(row[name].replace("Z", "+00:00")).astimezone(zone)
            out[name] = moment.replace(tzinfo=None)
    return out


def _pages(spec: lists.ListSpec, params: dict):
    cursor, left = None, EXPORT_MAX
    while left > 0:
        page = api.call("GET", spec.path, params={**params, "limit": min(200, left),
                                                  **({"cursor": cursor} if cursor else {})})
        rows = [_local(row, spec.columns) for row in page.get("items", [])]
        left -= len(rows)
        yield rows
        cursor = page.get("next_cursor")
        if not cursor or not rows:
            return


@blp.route("/<name>/export.xlsx")
@signed_in
def export(name):
    """The list as its page shows it (same filters and sort), at most EXPORT_MAX rows."""
    from crm_common.exports import write_xlsx
    spec = _spec(name)
    filters, sort = lists.query_of(spec, request.args)
    out = io.BytesIO()
    write_xlsx(out, list(spec.columns), _pages(spec, {**filters, "sort": sort}), sheet=_(LIST_TITLES[name]))
    stamp = datetime.now(get_timezone()).strftime("%Y%m%d-%H%M")
    return Response(out.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.xlsx"', "Cache-Control": "no-store"})


@blp.route("/<name>/views", methods=["POST"])
@signed_in
def save_view(name):
    spec = _spec(name)
    filters, sort = lists.query_of(spec, request.form)
    title = " ".join(request.form.get("view_name", "").split())[:60]
    if not title:
        flash(_("Give the view a name."), "warn")
    elif lists.save_view(spec, title, filters, sort):
        flash(_("View “%(name)s” saved.", name=title), "ok")
    return _back(spec, filters, sort)


@blp.route("/<name>/views/<view_id>/delete", methods=["POST"])
@signed_in
def delete_view(name, view_id):
    spec = _spec(name)
    lists.delete_view(spec, view_id[:20])
    flash(_("View deleted."), "ok")
    return redirect(url_for(spec.endpoint))


def _value(spec: lists.ListSpec, field: str, value: str) -> str | None:
    choices = spec.bulk.get(field)
    if choices == "users":
        try:
            return _id(value)
        except api.ApiError:
            return None
    return value if choices and value in choices else None


@blp.route("/<name>/bulk", methods=["POST"])
@signed_in
def bulk(name):
    """Set one field on every ticked row; a row changed meanwhile (412) or refused is left as it is."""
    spec = _spec(name)
    filters, sort = lists.query_of(spec, request.form)
    field, _eq, value = request.form.get("set", "").partition("=")
    value = _value(spec, field, value.strip()) if field in spec.bulk else None
    picked = []
    for pick in request.form.getlist("pick")[:200]:
        record_id, _sep, version = pick.partition(":")
        try:
            picked.append((_id(record_id), version if version.isdigit() else ""))
        except api.ApiError:
            continue
    if not picked or value is None:
        flash(_("Tick the rows to change and choose what to set."), "warn")
        return _back(spec, filters, sort)
    api.ensure_fresh()
    done, refused = 0, Counter()
    for record_id, version in picked:
        try:
            api.call("PATCH", f"{spec.path}/{record_id}", json={field: value},
                     headers={"If-Match": f'"{version}"'} if version else None)
            done += 1
        except api.ApiError as exc:
            if exc.status in (401, 503):
                raise
            refused[_reason(exc)] += 1
    if done:
        flash(ngettext("%(num)s record changed.", "%(num)s records changed.", done), "ok")
    for reason, count in refused.items():
        flash(ngettext("%(num)s record not changed: %(reason)s", "%(num)s records not changed: %(reason)s",
                       count, reason=reason), "warn")
    return _back(spec, filters, sort)


def _reason(exc: api.ApiError) -> str:
    if exc.status == 412:
        return _("changed by someone else meanwhile")
    if exc.status in (403, 404):
        return _("you may not change it")
    messages = [m for ms in (exc.errors or {}).values() for m in (ms if isinstance(ms, list) else [str(ms)])]
    return " ".join(messages) or exc.detail or _("refused")


def _bulk_choices(spec: lists.ListSpec) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the bulk edit may set here for this user: [(field, [(value, text)])]; a field their role may not set
    (an owner without the assign grant, anything without update) is not offered. Owners offered: the people of
    the user's team (an administrator, or someone in no team: the first 200 active users by name), kept for a
    minute."""
    from crm_console.access import can, is_admin, me
    from crm_console.vocabulary import label
    if not can(spec.resource, "update"):
        return []
    offered = []
    for field, choices in spec.bulk.items():
        if choices == "users":
            if not can(spec.resource, "assign"):
                continue
            owners = _owners(me().get("team_id") if not is_admin() else None)
            if owners is not None:
                offered.append((field, owners))
        else:
            offered.append((field, [(value, label(value)) for value in choices]))
    return offered


_OWNERS: dict = {}  # (user, team) -> (until, choices): the owner picker, asked of the API once a minute
OWNERS_TTL = 60


def _owners(team_id: str | None) -> list[tuple[str, str]] | None:
    """The people work may be handed to: the team's (a manager hands work to their own team), or the first 200
    active users by name; None when the API cannot say now (the picker is left out)."""
    key = ((session.get("me") or {}).get("id"), team_id)
    cached = _OWNERS.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    params = {"is_active": "true", "sort": "full_name", "limit": 200, **({"team_id": team_id} if team_id else {})}
    try:
        users = api.call("GET", "/users", params=params).get("items", [])
    except api.ApiError as exc:
        if exc.status not in (403, 503):
            raise
        return None
    choices = [(u["id"], u.get("full_name") or u.get("email") or u["id"]) for u in users]
    if len(_OWNERS) > 1000:
        _OWNERS.clear()
    _OWNERS[key] = (time.monotonic() + OWNERS_TTL, choices)
    return choices


def tools(name: str) -> dict:
    """What a list's page needs for its views, export and bulk edit (template `_lists.html`)."""
    spec = lists.LISTS[name]
    return {"list_name": name, "saved_views": lists.views(spec), "bulk_choices": _bulk_choices(spec)}
