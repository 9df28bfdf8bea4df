"""Marketing's audiences and words: segments (a rules builder, the live member count and the first members)
and email templates (edit, and a preview rendered by the API for one contact)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api, segment_rules as sr
from crm_console.views.common import field_errors, form_data, list_page, signed_in
from crm_console.views.leads import _id

blp = Blueprint("audiences", __name__)
TEMPLATE_FIELDS = ("name", "subject", "html", "text")


# -- segments ------------------------------------------------------------------------------------------

@blp.route("/segments/")
@signed_in
def segments():
    # with each segment's member count (counted by the API: slower, so 25 a page)
    page, filters, sort, errors = list_page("/segments", ("q",), ("name", "-created_at"), extra={"counts": "true"})
    return render_template("marketing/segments.html", page=page, filters=filters, sort=sort, errors=errors,
                           cursor=request.args.get("cursor"))


def _builder(segment: dict | None, combine: str, rows: list[dict], errors: dict, data: dict, status: int = 200):
    members = None
    if segment and not errors:
        members = api.call("GET", f"/segments/{segment['id']}/members", params={"limit": 20})
    rows = rows or [sr.blank(0)]
    return render_template("marketing/segment.html", segment=segment, combine=combine, rows=rows, errors=errors,
                           data=data, members=members, attributes=sr.ATTRIBUTES, channels=sr.CHANNELS,
                           behaviours=sr.BEHAVIOURS, ops=sr.OPS), status


def _save(segment: dict | None):
    rows = sr.used_rows(sr.rows_of_form(request.form))
    combine = request.form.get("combine", "all")
    kept = sr.split(segment.get("rules"))[2] if segment else []
    body = {"name": request.form.get("name", "").strip(), "rules": sr.tree(combine, rows, kept)}
    if request.form.get("description", "").strip():
        body["description"] = request.form["description"].strip()
    try:
        if segment:
            saved = api.call("PATCH", f"/segments/{segment['id']}", json=body,
                             headers={"If-Match": f'"{request.form.get("version", "")}"'})
        else:
            saved = api.call("POST", "/segments", json=body)
    except api.ApiError as exc:
        if exc.status not in (409, 412, 422):
            raise
        errors = sr.named(field_errors(exc), rows) if exc.status == 422 else {"_schema": [
            _("Changed by someone else. Reload to see the latest version.") if exc.status == 412 else exc.detail]}
        return _builder(segment, combine, sr.rows_of_form(request.form), errors or {"_schema": [exc.detail]},
                        request.form, 422)
    flash(_("Segment saved: %(n)s members now.", n=saved.get("member_count") if saved.get("member_count")
            is not None else "?"), "ok")
    return redirect(url_for("audiences.segment", segment_id=saved["id"]))


@blp.route("/segments/new", methods=["GET", "POST"])
@signed_in
def new_segment():
    if request.method == "POST":
        return _save(None)
    return _builder(None, "all", [], {}, {})


@blp.route("/segments/<segment_id>", methods=["GET", "POST"])
@signed_in
def segment(segment_id):
    record = api.call("GET", f"/segments/{_id(segment_id)}")
    if request.method == "POST":
        return _save(record)
    combine, rows, _groups = sr.split(record.get("rules"))
    return _builder(record, combine, rows, {}, record)


@blp.route("/segments/rule")
@signed_in
def rule_row():
    """One more rule row (the "Add a rule" button), and the button again for the row after it."""
    try:
        index = min(max(int(request.args.get("index", "0")), 0), sr.MAX_ROWS - 1)
    except ValueError:
        index = 0
    return render_template("marketing/_rule.html", row=sr.blank(index), adder=True, attributes=sr.ATTRIBUTES,
                           channels=sr.CHANNELS, behaviours=sr.BEHAVIOURS, ops=sr.OPS)


# -- email templates -----------------------------------------------------------------------------------

@blp.route("/templates/")
@signed_in
def templates():
    page, filters, sort, errors = list_page("/email-templates", ("q",), ("name", "-created_at"))
    return render_template("marketing/templates.html", page=page, filters=filters, sort=sort, errors=errors,
                           cursor=request.args.get("cursor"))


def _contacts() -> list[dict]:
    try:
        return api.call("GET", "/contacts", params={"limit": 100, "sort": "last_name"}).get("items", [])
    except api.ApiError as exc:
        if exc.status not in (403, 503):
            raise
        return []


@blp.route("/templates/new", methods=["GET", "POST"])
@blp.route("/templates/<template_id>", methods=["GET", "POST"])
@signed_in
def template(template_id=None):
    record = api.call("GET", f"/email-templates/{_id(template_id)}") if template_id else None
    data, errors = record or {}, {}
    if request.method == "POST":
        data = form_data(request.form, TEMPLATE_FIELDS)
        try:
            if record:
                saved = api.call("PATCH", f"/email-templates/{record['id']}", json=data,
                                 headers={"If-Match": f'"{request.form.get("version", "")}"'})
            else:
                saved = api.call("POST", "/email-templates", json=data)
        except api.ApiError as exc:
            if exc.status not in (409, 412, 422):
                raise
            errors = field_errors(exc) or {"_schema": [
                _("Changed by someone else. Reload to see the latest version.") if exc.status == 412 else exc.detail]}
        else:
            flash(_("Template saved."), "ok")
            return redirect(url_for("audiences.template", template_id=saved["id"]))
    return render_template("marketing/template.html", template=record, data=data, errors=errors,
                           contacts=_contacts() if record else []), 422 if errors else 200


@blp.route("/templates/<template_id>/preview", methods=["POST"])
@signed_in
def preview(template_id):
    """The template rendered by the API for one contact (htmx fragment; the HTML in a sandboxed frame)."""
    template_id, problem, shown = _id(template_id), None, None
    contact_id = request.form.get("contact_id", "")
    email = request.form.get("contact_email", "").strip()[:254]
    if email:  # a contact beyond the picker's first 100, by their email
        found = api.call("GET", "/contacts", params={"email": email, "limit": 1}).get("items", [])
        if not found:
            return render_template("marketing/_preview.html", shown=None,
                                   problem=_("No contact with this email, or not visible to you."))
        contact_id = found[0]["id"]
    try:
        shown = api.call("POST", f"/email-templates/{template_id}/preview", json={"contact_id": contact_id})
    except api.ApiError as exc:
        if exc.status not in (404, 422):
            raise
        problem = (" ".join(m for ms in field_errors(exc).values() for m in ms) or exc.detail
                   if exc.status == 422 else _("Not found, or not visible to you."))
    return render_template("marketing/_preview.html", shown=shown, problem=problem)
