"""Web forms and their public submissions (`POST /f/{form_id}`).

A submission is checked against the form's fields (422 naming each field), then kept (form_submissions,
for privacy export and erasure), announced (marketing.form_submitted.v1: sales creates or updates the
lead, with the form's campaign) and recorded as the person's activity. Consent is recorded when the form
shows a consent text (and, if it has a checkbox named `consent`, only when it is ticked): opted_in, or
pending with a confirmation mail when the form asks for double opt-in. A filled honeypot field is
answered like a success and records nothing.
"""
from __future__ import annotations

import re

from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import new_id, utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError, not_found
from crm_common.versioning import check_version
from crm_marketing.domain import activity, consents, optin
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import Campaign, Consent, Form, FormSubmission

RESOURCE, WHAT = "form", "form"
EDITABLE = ("name", "fields", "campaign_id", "consent_text", "consent_text_version", "double_opt_in",
            "redirect_url", "honeypot_field")
PHONE = re.compile(r"^\+?[0-9 ()./-]{5,40}$")
TICKED = ("on", "true", "1", "yes")
MAX_TEXT = {"textarea": 5000}


def invalid(errors: dict, detail: str = "the form has invalid fields") -> ServiceError:
    return ServiceError("validation_failed", detail, errors=errors)


# -- the forms (resource `form`) ----------------------------------------------------------------------

def _load(ctx, record_id: str, action: str) -> Form:
    form = ctx.session.get(Form, record_id)
    if form is None or form.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, form, WHAT)


def _check(ctx, values: dict) -> None:
    """The rules no schema states (FORM_RULES); 422 naming the fields."""
    errors: dict = {}
    names = [f["name"] for f in values["fields"]]
    if len(set(names)) != len(names):
        errors["fields"] = ["field names must be unique"]
    for spec in values["fields"]:
        if spec["type"] == "select" and not spec.get("choices"):
            errors.setdefault("fields", []).append(f"{spec['name']}: a select field needs choices")
        if spec["type"] != "select" and spec.get("choices"):
            errors.setdefault("fields", []).append(f"{spec['name']}: only a select field has choices")
    if values.get("honeypot_field") and values["honeypot_field"] in names:
        errors["honeypot_field"] = ["the honeypot must be none of the form's fields"]
    if values.get("double_opt_in") and not any(f["type"] == "email" for f in values["fields"]):
        errors["double_opt_in"] = ["double opt-in needs an email field to send the confirmation to"]
    campaign_id = values.get("campaign_id")
    if campaign_id:
        campaign = ctx.session.get(Campaign, campaign_id)
        if campaign is None or campaign.deleted_at is not None:
            errors["campaign_id"] = ["no such campaign"]
    if errors:
        raise invalid(errors, "the form breaks a rule")


def _values(data: dict) -> dict:
    values = {k: v for k, v in data.items() if k in EDITABLE}
    if "campaign_id" in values and values["campaign_id"] is not None:
        values["campaign_id"] = str(values["campaign_id"])
    if "fields" in values:
        values["fields"] = [{"name": f["name"], "label": f["label"], "type": f.get("type", "text"),
                             "required": bool(f.get("required")), "choices": list(f.get("choices") or [])}
                            for f in values["fields"]]
    return values


def create(ctx, data: dict) -> Form:
    values = _values(data)
    _check(ctx, values)
    form = Form(**values, owner_id=ctx.caller.user_id)
    ctx.session.add(form)
    ctx.session.flush()
    _changed(ctx, form.id, "create", sorted(values))
    return form


def get(ctx, record_id: str) -> Form:
    return _load(ctx, record_id, "read")


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(Form).where(Form.deleted_at.is_(None)), ctx.caller, RESOURCE, "read", Form)
    if query.get("campaign_id"):
        select_ = select_.where(Form.campaign_id == str(query["campaign_id"]))
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(Form.name.ilike(pattern, escape="\\"))
    rows, cursor = paging.paginate(ctx.session, select_, Form, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=("created_at", "name"))
    return {"items": rows, "next_cursor": cursor}


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Form:
    form = _load(ctx, record_id, "update")
    check_version(form, expected_version)
    values = _values(data)
    _check(ctx, {**{name: getattr(form, name) for name in EDITABLE}, **values})
    changed = [name for name, value in values.items() if getattr(form, name) != value]
    for name in changed:
        setattr(form, name, values[name])
    if changed:
        ctx.session.flush()
        _changed(ctx, form.id, "update", sorted(changed))
    return form


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    form = _load(ctx, record_id, "delete")
    check_version(form, expected_version)
    form.deleted_at = utcnow()
    ctx.session.flush()
    _changed(ctx, form.id, "delete")


def _changed(ctx, record_id: str, action: str, fields: list[str] | None = None, entity: str = "form") -> None:
    ctx.emit(c.RECORD_CHANGED, {"entity": entity, "id": record_id, "action": action, "changed_fields": fields or []})


# -- a submission (public) -------------------------------------------------------------------------------

def submit(ctx, record_id: str, data: dict, client_ip: str | None = None) -> dict:
    """A visitor's answers to the form `record_id` (public): `{submission_id, redirect_url}`."""
    form = ctx.session.get(Form, record_id)
    if form is None or form.deleted_at is not None:
        raise not_found(WHAT)
    answers = data["answers"]
    if form.honeypot_field and _filled(answers.get(form.honeypot_field)):
        return {"submission_id": new_id(), "redirect_url": form.redirect_url}  # a bot: nothing recorded
    values = validate_answers(form, answers)
    address = _address(form, values)
    submission = FormSubmission(form_id=form.id, campaign_id=form.campaign_id, email=address,
                                email_hash=email_hash(address) if address else None, answers=values, ip=client_ip,
                                user_agent=(data.get("user_agent") or "")[:300] or None)
    ctx.session.add(submission)
    ctx.session.flush()
    if address and form.consent_text and values.get("consent", True) is not False:
        submission.consent_id = _consent(ctx, form, address, client_ip).id
    activity.record(ctx.session, "form_submitted", email_hash=submission.email_hash, ref_id=form.id,
                    detail={"submission_id": submission.id, "campaign_id": form.campaign_id})
    ctx.emit(c.FORM_SUBMITTED, {"submission_id": submission.id, "form_id": form.id, "campaign_id": form.campaign_id,
                                "fields": values})
    ctx.session.flush()
    return {"submission_id": submission.id, "redirect_url": form.redirect_url}


def _consent(ctx, form: Form, address: str, ip: str | None):
    source, version = f"form:{form.id}", form.consent_text_version
    current = ctx.session.execute(select(Consent.status).where(Consent.email_hash == email_hash(address),
                                                               Consent.channel == "email")).scalar()
    if not form.double_opt_in or current == "opted_in":
        return consents.record(ctx, address, "email", "opted_in", source, ip=ip, text_version=version)
    consent = consents.record(ctx, address, "email", "pending", source, ip=ip, text_version=version)
    optin.request(ctx, consent, form)
    return consent


def _filled(value) -> bool:
    return value not in (None, "", False, [])


def _address(form: Form, values: dict) -> str | None:
    emails = [f["name"] for f in form.fields if f["type"] == "email" and values.get(f["name"])]
    name = "email" if "email" in emails else (emails[0] if emails else None)
    return values[name] if name else None


def validate_answers(form: Form, answers: dict) -> dict:
    """The answers as kept: by field name, each checked against its field (422 naming every bad one)."""
    errors: dict = {}
    values: dict = {}
    known = {f["name"]: f for f in form.fields}
    for name in answers:
        if name not in known and name != form.honeypot_field:
            errors[name] = ["not a field of this form"]
    for name, spec in known.items():
        try:
            value = _answer(spec, answers.get(name))
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        if spec["required"] and not _filled(value):
            errors[name] = ["this field is required" if spec["type"] != "checkbox" else "this box must be ticked"]
        elif value is not None:
            values[name] = value
    if errors:
        raise invalid(errors)
    return values


def _answer(spec: dict, raw):
    kind = spec["type"]
    if isinstance(raw, list):
        raise ValueError("one value is expected")
    if kind == "checkbox":
        if raw is None or raw is False or raw == "":
            return False
        if raw is True or (isinstance(raw, str) and raw.strip().lower() in TICKED):
            return True
        raise ValueError("a checkbox is ticked (true, on) or not")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError("a text value is expected")
    text = str(raw).strip()
    if not text:
        return None
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    if len(text) > MAX_TEXT.get(kind, 500):
        raise ValueError(f"at most {MAX_TEXT.get(kind, 500)} characters")
    if kind == "email":
        try:
            return c.normalise_email(text)
        except ValueError as exc:
            raise ValueError(f"not an e-mail address: {exc}") from None
    if kind == "phone" and not PHONE.match(text):
        raise ValueError("not a phone number (digits, spaces, + ( ) . / -)")
    if kind == "select" and text not in spec["choices"]:
        raise ValueError(f"one of: {', '.join(spec['choices'])}")
    return text


# -- privacy: what the form submissions hold of an address ----------------------------------------------

def _of_person(session, address: str) -> list[FormSubmission]:
    return list(session.execute(select(FormSubmission).where(
        FormSubmission.email_hash == email_hash(c.normalise_email_leniently(address)))).scalars())


def export(ctx, address: str) -> tuple[dict, dict]:
    """The address's submissions (data, counts); nothing named when it has none."""
    rows = _of_person(ctx.session, address)
    found = [{"id": s.id, "form_id": s.form_id, "campaign_id": s.campaign_id, "answers": s.answers, "ip": s.ip,
              "created_at": rfc3339(s.created_at)} for s in rows if s.answers is not None]
    for row in found:
        _changed(ctx, row["id"], "export", entity="form_submission")
    return ({"form_submissions": found}, {"form_submissions": len(found)}) if found else ({}, {})


def erase(ctx, address: str) -> dict:
    """The address's submissions keep only their form, campaign and hash (answers, address, ip gone)."""
    rows = _of_person(ctx.session, address)
    for row in rows:
        if row.answers is not None or row.email is not None:
            row.email, row.answers, row.ip, row.user_agent = None, None, None, None
            _changed(ctx, row.id, "update", ["answers", "email", "ip", "user_agent"], entity="form_submission")
    ctx.session.flush()
    return {"form_submissions": len(rows)} if rows else {}
