"""Leads: validation, duplicates, status flow, assignment, conversion, reassignment."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy import and_, bindparam, or_, select

import crm_sales_contracts as c
from crm_common import ahead, scope
from crm_common.context import Actor
from crm_common.db import insert_record, utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import accounts, assignment, checks, contacts, opportunities, records, users
from crm_sales.models import Account, Contact, Lead

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("first_name", "last_name", "company", "title", "email", "phone", "country", "industry", "score",
            "campaign_id", "status", "custom_fields", "tags")
# status -> statuses a PATCH may move it to (converted only by conversion)
FLOW = {
    "new": ("contacted", "qualified", "unqualified"),
    "contacted": ("qualified", "unqualified"),
    "qualified": ("contacted", "unqualified"),
    "unqualified": ("contacted",),
    "converted": (),
}
SEARCH = (Lead.first_name, Lead.last_name, Lead.company, Lead.email)
get = records.reader("lead", Lead)
delete = records.deleter("lead", Lead)


def page(ctx: Context, query: dict) -> dict:
    """One page of the leads the caller may read; `email` is matched as stored (lower case)."""
    if query.get("email"):
        query["email"] = query["email"].strip().lower()
    return records.page(ctx, "lead", Lead, query, c.LeadFilters.SORTABLE, SEARCH, plain=True)


def event_data(lead: Lead) -> dict:
    return {"id": lead.id, "first_name": lead.first_name, "last_name": lead.last_name, "company": lead.company,
            "email": lead.email, "phone": lead.phone, "country": lead.country, "industry": lead.industry,
            "source": lead.source, "status": lead.status, "owner_id": lead.owner_id,
            "territory_id": lead.territory_id, "campaign_id": lead.campaign_id,
            "duplicate_of_id": lead.duplicate_of_id, "title": lead.title, "score": lead.score,
            "custom_fields": dict(lead.custom_fields or {}), "tags": list(lead.tags or [])}


MAX_DUPLICATES = 20
DUPLICATE_COLUMNS = (Lead.id, Lead.email, Lead.phone, Lead.company_key, Lead.company, Lead.last_name, Lead.status,
                     Lead.owner_id, Lead.team_id, Lead.territory_id)


def find_duplicates(session, email: str | None, phone: str | None, company: str | None, last_name: str | None,
                    exclude_id: str | None = None) -> list[tuple[object, list[str]]]:
    """Live leads with the same email, the same phone, or the same company and last name (the first
    MAX_DUPLICATES, oldest first), each with what matched: rows of DUPLICATE_COLUMNS (what a conflict names
    and its scope check reads), not ORM objects; those read ahead with a keyed create's first statement when
    they were (duplicates_ahead)."""
    read = _duplicates_read(email, phone, company, last_name, exclude_id)
    if read is None:
        return []
    rows = ahead.taken(session, read.query, read.params)
    if rows is None:
        if session.new or session.dirty:  # what the ORM's autoflush would write first
            session.flush()
        rows = session.connection().execute(read.query, read.params)
    company_key = read.params["company_key"]
    found = []
    for lead in rows:
        matched = [name for name, hit in (
            ("email", email and lead.email == email), ("phone", phone and lead.phone == phone),
            ("company", company_key and lead.company_key == company_key)) if hit]
        found.append((lead, matched))
    return found


def duplicates_ahead(data: dict) -> ahead.Read | None:
    """A new lead's duplicates look-up from its input as create gets it (its email and phone normalized as
    lead_values does, on a copy), to go with a keyed create's first statement, the normalized contact handed
    along (create takes it instead of normalizing again: `lead_values`); None when the input is invalid (create
    refuses it)."""
    try:
        contact = checks.contact_fields({name: data[name] for name in ("email", "phone", "country") if name in data})
    except ServiceError:
        return None
    return _duplicates_read(contact.get("email"), contact.get("phone"), data.get("company"), data.get("last_name"),
                            given=contact)


def _duplicates_read(email, phone, company, last_name, exclude_id=None, given=None) -> ahead.Read | None:
    company_key, last = checks.key(company), (last_name or "").strip().lower()
    if not (email or phone or (company_key and last)):
        return None
    query = _duplicates_query(bool(email), bool(phone), bool(company_key and last), bool(exclude_id))
    return ahead.Read(query, {"email": email, "phone": phone, "company_key": company_key, "last": last,
                              "exclude_id": exclude_id}, given)


@functools.lru_cache(maxsize=None)
def _duplicates_query(by_email: bool, by_phone: bool, by_name: bool, excluding: bool):
    """The duplicates query for the keys a lead has, built once per combination (a statement built per call works
    out its cache key again each time); its values are bound parameters."""
    conditions = []
    if by_email:
        conditions.append(Lead.email == bindparam("email"))
    if by_phone:
        conditions.append(Lead.phone == bindparam("phone"))
    if by_name:
        conditions.append(and_(Lead.company_key == bindparam("company_key"), Lead.last_name.ilike(bindparam("last"))))
    query = select(*DUPLICATE_COLUMNS).where(or_(*conditions), Lead.deleted_at.is_(None), Lead.anonymized_at.is_(None))
    if excluding:
        query = query.where(Lead.id != bindparam("exclude_id"))
    return ahead.ordered(query, Lead.created_at, limit=MAX_DUPLICATES)  # oldest first, as read ahead too


def duplicate_conflict(actor: Actor, found: list[tuple[object, list[str]]]) -> ServiceError:
    """The 409 of a create that found duplicates: those the caller may read are listed; the others are only
    counted (`hidden_duplicates`), so the caller learns that a duplicate exists, not whose it is."""
    visible = [{"id": lead.id, "matched_on": matched, "status": lead.status, "owner_id": lead.owner_id,
                "company": lead.company, "last_name": lead.last_name}
               for lead, matched in found if scope.allows(actor, "lead", "read", lead)]
    return ServiceError("conflict", "leads with the same email, phone or company exist; send force: true to "
                        "create it anyway", extra={"duplicates": visible, "hidden_duplicates": len(found) - len(visible)})


def _check_identity(data: dict) -> None:
    if not any(data.get(name) for name in ("last_name", "company", "email")):
        raise validation({"last_name": ["a lead needs a last name, a company or an email"]})


def _owner_allowed(actor: Actor, owner_id: str | None) -> None:
    if owner_id and owner_id != actor.user_id and not actor.can("lead", "assign"):
        raise validation({"owner_id": ["your role may not assign leads to others"]})


# the fields a lead takes from its input, as its contract declares them (the owner is assigned, not copied):
# a new field is declared once, in the contract, and the model
FIELDS = tuple(name for name in c.LeadFields._declared_fields if name != "owner_id")


def lead_values(data: dict, source: str, assigner: assignment.Assigner, contact: dict | None = None) -> dict:
    """A new lead's column values from input: validated, normalized, in its territory (422 if invalid).
    `contact`: the input's email and phone already normalized (checks.contact_fields on a copy of them, by
    duplicates_ahead), taken as they are."""
    if contact is None:
        checks.contact_fields(data)
    else:
        data.update(contact)
    _check_identity(data)
    values = {name: data.get(name) for name in FIELDS}
    values["score"] = values["score"] or 0
    territory = assigner.territory_for(values["country"], values["industry"])
    values.update(company_key=checks.key(values["company"]), source=source, status="new",
                  territory_id=territory.id if territory else None)
    return values


def assign_new(assigner: assignment.Assigner, actor: Actor, lead, owner_id: str | None = None) -> None:
    """The owner of a new lead: explicit, the creating rep, the rules, or nobody yet."""
    if owner_id:
        lead.owner_id, lead.assignment_rule = owner_id, "manual"
    elif actor.kind == "user" and actor.user_id and actor.scope("lead", "create") == "own":
        lead.owner_id, lead.assignment_rule = actor.user_id, "creator"
    else:
        choice = assigner.choose(lead)
        if choice.owner_id is None and actor.kind == "user" and actor.user_id:
            choice = assignment.Choice(actor.user_id, "creator")
        lead.owner_id, lead.assignment_rule = choice.owner_id, choice.rule
    lead.team_id = assigner.team_of(lead.owner_id, actor)


@ahead.reads(duplicates_ahead)
def create(ctx: Context, data: dict) -> Lead:
    """Create one lead; duplicates are a 409 listing them unless forced."""
    return _create(ctx, data, data.get("source") or "api", link_duplicates=False, with_last_writes=True,
                   contact=ahead.given(ctx.session))


def create_from_form(ctx: Context, data: dict) -> Lead:
    """A lead from a web form: its duplicates are linked to the first, never refused."""
    return _create(ctx, data, "web_form", link_duplicates=True)


def _create(ctx: Context, data: dict, source: str, link_duplicates: bool, with_last_writes: bool = False,
            contact: dict | None = None) -> Lead:
    session, actor = ctx.session, ctx.caller
    _owner_allowed(actor, data.get("owner_id"))
    assigner = assignment.Assigner(session)
    lead = Lead(**lead_values(data, source, assigner, contact))
    dups = find_duplicates(session, lead.email, lead.phone, lead.company, lead.last_name)
    if dups and not (data.get("force") or link_duplicates):
        raise duplicate_conflict(actor, dups)
    lead.duplicate_of_id = dups[0][0].id if dups else None
    assign_new(assigner, actor, lead, data.get("owner_id"))
    # one prepared INSERT, not the unit of work's flush (crm_common.db); an API create's (one lead a transaction,
    # nothing reads it back before the commit) with the transaction's last writes on PostgreSQL. A form's goes at
    # once: a batch of form events reads the leads of those before it (their duplicates).
    insert_record(session, lead, with_last_writes=with_last_writes)
    ctx.emit(c.LEAD_CREATED, event_data(lead))
    if lead.owner_id:
        ctx.emit(c.LEAD_ASSIGNED, {"id": lead.id, "owner_id": lead.owner_id, "previous_owner_id": None,
                                   "rule": lead.assignment_rule})
    return lead


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Lead:
    session, actor = ctx.session, ctx.caller
    lead = records.load_for_update(ctx, "lead", Lead, record_id, expected_version)
    if lead.anonymized_at is not None:
        raise ServiceError("conflict", "this lead was erased")
    if "status" in data and data["status"] != lead.status:
        if data["status"] == "converted":
            raise validation({"status": ["convert a lead with POST /leads/{id}/convert"]})
        if data["status"] not in FLOW[lead.status]:
            raise ServiceError("conflict", f"a {lead.status} lead cannot become {data['status']}",
                               extra={"allowed": list(FLOW[lead.status])})
    if "owner_id" in data and data["owner_id"] != lead.owner_id:
        if not actor.can("lead", "assign"):
            raise validation({"owner_id": ["your role may not assign leads"]})
    checks.contact_fields(data, lead.country)
    if "company" in data:
        data["company_key"] = checks.key(data["company"])
    previous_owner = lead.owner_id
    changed = records.apply(lead, data, EDITABLE + ("company_key", "owner_id"))
    changed = [name for name in changed if name != "company_key"]
    if not changed:
        return lead
    if "owner_id" in changed:
        lead.assignment_rule = "manual"
        lead.team_id = users.team_of(session, lead.owner_id, actor)
    if "country" in changed or "industry" in changed:
        territory = assignment.territory_for(session, lead.country, lead.industry)
        lead.territory_id = territory.id if territory else None
    session.flush()
    ctx.emit(c.LEAD_UPDATED, {**event_data(lead), "changed_fields": changed})
    if "owner_id" in changed:
        ctx.emit(c.LEAD_ASSIGNED, {"id": lead.id, "owner_id": lead.owner_id, "previous_owner_id": previous_owner,
                               "rule": "manual"})
    return lead


def convert(ctx: Context, record_id: str, data: dict) -> dict:
    """Lead -> account (new or linked), contact (new or the account's with that email), opportunity."""
    session, actor = ctx.session, ctx.caller
    lead = records.load(ctx, "lead", Lead, record_id, "update")
    if lead.status == "converted":
        raise ServiceError("conflict", "this lead is already converted",
                           extra={"account_id": lead.converted_account_id, "contact_id": lead.converted_contact_id})
    if lead.status == "unqualified":
        raise ServiceError("conflict", "an unqualified lead cannot be converted; reopen it first")
    if lead.anonymized_at is not None:
        raise ServiceError("conflict", "this lead was erased")
    owner_id = lead.owner_id or actor.user_id
    if data.get("account_id"):
        account = records.load(ctx, "account", Account, data["account_id"], what="account")
    else:
        account = accounts.create_from_lead(ctx, {
            "name": lead.company or " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email,
            "industry": lead.industry, "country": lead.country, "phone": lead.phone if not lead.company else None,
            "owner_id": owner_id})
    contact = None
    if lead.email:
        contact = session.execute(select(Contact).where(Contact.account_id == account.id, Contact.email == lead.email,
                                                        Contact.deleted_at.is_(None))).scalars().first()
    if contact is None:
        contact = contacts.create_from_lead(ctx, {
            "account_id": account.id, "first_name": lead.first_name, "last_name": lead.last_name or lead.company,
            "email": lead.email, "phone": lead.phone, "title": lead.title, "country": lead.country,
            "owner_id": owner_id}, lead.id)
    opportunity = None
    seed = data.get("create_opportunity")
    if seed:
        opportunity = opportunities.create_from_lead(ctx, {
            **seed, "account_id": account.id, "contact_id": contact.id, "owner_id": owner_id,
            "campaign_id": lead.campaign_id}, lead.id)
    lead.status, lead.converted_at = "converted", utcnow()
    lead.converted_account_id, lead.converted_contact_id = account.id, contact.id
    lead.converted_opportunity_id = opportunity.id if opportunity else None
    session.flush()
    ctx.emit(c.LEAD_CONVERTED, {"id": lead.id, "account_id": account.id, "contact_id": contact.id,
                            "opportunity_id": opportunity.id if opportunity else None})
    return {"lead": lead, "account": account, "contact": contact, "opportunity": opportunity}


def reassign_open_leads(ctx: Context, user_id: str) -> int:
    """A deactivated user's open leads go to whoever the rules give (then the user's team)."""
    session = ctx.session
    user = session.get(users.SalesUser, user_id)
    team = user.team_id if user else None
    moved = 0
    assigner = assignment.Assigner(session)
    leads = session.execute(select(Lead).where(Lead.owner_id == user_id, Lead.status.in_(assignment.OPEN_STATUSES),
                                               Lead.deleted_at.is_(None)).order_by(Lead.created_at)).scalars().all()
    for lead in leads:
        choice = assigner.choose(lead, exclude=user_id, fallback_team=team)
        previous = lead.owner_id
        lead.owner_id, lead.assignment_rule = choice.owner_id, f"reassigned:{choice.rule}"[:40]
        lead.team_id = users.team_of(session, choice.owner_id) if choice.owner_id else team
        ctx.emit(c.LEAD_ASSIGNED, {"id": lead.id, "owner_id": lead.owner_id, "previous_owner_id": previous,
                               "rule": lead.assignment_rule})
        moved += 1
    session.flush()
    return moved
