"""Leads in: a CSV file imported as a job (its progress bar and per-row errors, refreshed by htmx until it ends).
The lists' XLSX export is crm_console.views.lists."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.views.common import field_errors, signed_in
from crm_console.views.leads import _id

blp = Blueprint("imports", __name__, url_prefix="/leads")
MAX_BYTES = 5 * 1024 * 1024


def _read_csv() -> tuple[str | None, str | None]:
    """The uploaded file's text, or the message to show beside the field."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, _("Choose a CSV file.")
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return None, _("The file is larger than 5 MB.")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, _("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")


@blp.route("/import", methods=["GET", "POST"])
@signed_in
def upload():
    errors = {}
    if request.method == "POST":
        text, problem = _read_csv()
        if problem:
            errors = {"file": [problem]}
        else:
            try:
                job = api.call("POST", "/leads/imports", json={"csv": text, "force": request.form.get("skip") != "1"})
            except api.ApiError as exc:
                if exc.status != 422:
                    raise
                errors = {"file": [m for ms in field_errors(exc).values() for m in ms]}
            else:
                return redirect(url_for("imports.progress", job_id=job["id"]))
    return render_template("leads/import.html", errors=errors), 422 if errors else 200


@blp.route("/import/<job_id>")
@signed_in
def progress(job_id):
    job = api.call("GET", f"/leads/imports/{_id(job_id)}")
    template = "leads/_job.html" if request.headers.get("HX-Request") else "leads/job.html"
    return render_template(template, job=job)
