"""E-mail templates: stored sanitised and checked, so a saved template always renders (data only).

Every function takes the call's `ctx`. The permission resource is `email_template`; record scope "own" means
the templates the caller created. A template is soft-deleted. Edits bump `version`, which keys the compiled
rendering (`rendering.compiled`), so a changed template is never rendered from a stale compilation.
"""
from __future__ import annotations

from sqlalchemy import or_, select

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.errors import conflict, not_found, validation
from crm_common.versioning import check_version
from crm_marketing.domain import mail_html, rendering
from crm_marketing.models import AudienceMember, Campaign, CampaignVariant, EmailTemplate

RESOURCE, WHAT = "email_template", "email template"
PARTS = ("subject", "html", "text")
SORTABLE = ("created_at", "updated_at", "name")
PREVIEW_UNSUBSCRIBE = "#unsubscribe"  # the preview's stand-in for the sender's unsubscribe link


def _load(ctx, record_id: str, action: str) -> EmailTemplate:
    template = ctx.session.get(EmailTemplate, record_id)
    if template is None or template.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, template, WHAT)


def prepared(data: dict) -> dict:
    """The parts as they are stored: the HTML sanitised, every part checked (422: {part: ["line N: why"]}).
    The HTML is checked before and after sanitising: the sanitiser may only drop markup, and a Jinja tag
    it dropped with its element (inside a `<script>`) must not leave an unbalanced `{% if %}` behind."""
    problems = {part: rendering.check(data[part], part) for part in PARTS if data.get(part)}
    if "html" in data and not problems.get("html"):
        try:
            data = {**data, "html": mail_html.sanitise(data["html"])}
        except ValueError as exc:
            raise validation({"html": [str(exc)]}, str(exc)) from None
        if not data["html"].strip():
            problems["html"] = ["nothing is left once sanitised: the HTML needs some content a mail may show"]
        else:
            problems["html"] = [f"once sanitised, {problem}" for problem in rendering.check(data["html"], "html")]
    problems = {part: found for part, found in problems.items() if found}
    if problems:
        raise validation(problems, "the template is not a template of data only: " + "; ".join(
            f"{part} {found[0]}" for part, found in problems.items()))
    return data


def create(ctx, data: dict) -> EmailTemplate:
    data = prepared(data)
    template = EmailTemplate(name=data["name"], subject=data["subject"], html=data["html"], text=data.get("text"),
                             owner_id=ctx.caller.user_id)
    ctx.session.add(template)
    ctx.session.flush()
    _changed(ctx, template.id, "create")
    return template


def get(ctx, record_id: str) -> EmailTemplate:
    return _load(ctx, record_id, "read")


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(EmailTemplate).where(EmailTemplate.deleted_at.is_(None)),
                            ctx.caller, RESOURCE, "read", EmailTemplate)
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(or_(EmailTemplate.name.ilike(pattern, escape="\\"),
                                    EmailTemplate.subject.ilike(pattern, escape="\\")))
    rows, cursor = paging.paginate(ctx.session, select_, EmailTemplate, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"), sortable=SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> EmailTemplate:
    template = _load(ctx, record_id, "update")
    check_version(template, expected_version)
    sending = _campaigns_using(ctx.session, template.id, ("sending",))
    if sending:
        raise conflict(f"campaign {sending[0]} is sending with this template: change it once the send is done",
                       campaign_ids=sending)
    data = prepared(data)
    changed = [name for name, value in data.items() if getattr(template, name) != value]
    for name in changed:
        setattr(template, name, data[name])
    if changed:
        ctx.session.flush()
        _changed(ctx, template.id, "update", changed)
    return template


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    template = _load(ctx, record_id, "delete")
    check_version(template, expected_version)
    using = _campaigns_using(ctx.session, template.id, ("draft", "scheduled", "sending"))
    if using:
        raise conflict(f"campaign {using[0]} uses this template and is not sent yet: give it another template "
                       "or cancel it first", campaign_ids=using)
    template.deleted_at = utcnow()
    ctx.session.flush()
    _changed(ctx, template.id, "delete")


def _campaigns_using(session, template_id: str, statuses: tuple[str, ...]) -> list[str]:
    live = (Campaign.deleted_at.is_(None), Campaign.status.in_(statuses))
    direct = select(Campaign.id).where(Campaign.template_id == template_id, *live)
    variants = (select(Campaign.id).join(CampaignVariant, CampaignVariant.campaign_id == Campaign.id)
                .where(CampaignVariant.template_id == template_id, *live))
    return sorted(set(session.execute(direct).scalars()) | set(session.execute(variants).scalars()))


def preview(ctx, record_id: str, data: dict) -> dict:
    """The template rendered for one person of the audience, found by the sales contact's or lead's id;
    a template the sandbox refuses for this person is a 422 saying why."""
    template = _load(ctx, record_id, "read")
    member = ctx.session.execute(select(AudienceMember).where(
        AudienceMember.source_id == data["contact_id"], AudienceMember.deleted_at.is_(None))
        .order_by(AudienceMember.kind)).scalars().first()  # a contact before a lead of the same id (never both)
    if member is None:
        raise not_found("contact or lead")
    recipient = {**rendering.recipient_of(member), "unsubscribe_url": PREVIEW_UNSUBSCRIBE}
    try:
        rendered = rendering.render(template, recipient)
    except rendering.RenderError as exc:
        raise validation({"contact_id": [str(exc)]}, str(exc)) from None
    return rendered._asdict()


def _changed(ctx, record_id: str, action: str, fields: list[str] | None = None) -> None:
    """`marketing.record_changed.v1` (templates have no events of their own): the audit trail records it."""
    ctx.emit(c.RECORD_CHANGED, {"entity": "email_template", "id": record_id, "action": action,
                                "changed_fields": fields or []})
