"""Search of the sales records (GET /api/v1/search): accounts, contacts, leads and opportunities by name,
email and phone, over the caller's record scope, best match first (crm_common.search)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, or_

from crm_common import scope
from crm_common import search as kernel
from crm_sales.models import Account, Contact, Lead, Opportunity

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

TYPES = ("account", "contact", "lead", "opportunity")


def _person(record) -> str | None:
    return " ".join(part for part in (record.first_name, record.last_name) if part) or None


def _joined(*parts) -> str | None:
    return " · ".join(str(part) for part in parts if part) or None


# type -> (model, searched columns (the first orders ties), describe(row) -> (type, title, subtitle))
SEARCHED = {
    "account": (Account, (Account.name, Account.phone),
                lambda r: ("account", r.name, _joined(r.city, r.phone))),
    "contact": (Contact, (Contact.last_name, Contact.first_name, Contact.email, Contact.phone),
                lambda r: ("contact", _person(r) or r.email, _joined(r.email, r.phone))),
    "lead": (Lead, (Lead.last_name, Lead.first_name, Lead.company, Lead.email, Lead.phone),
             lambda r: ("lead", _person(r) or r.company or r.email, _joined(r.company, r.email, r.status))),
    "opportunity": (Opportunity, (Opportunity.name,),
                    lambda r: ("opportunity", r.name, _joined(r.stage, f"{r.amount} {r.currency}"))),
}


def _where(model, alternatives):
    """The rows of `model` a caller may read (scope.alternatives) that are neither deleted nor anonymised, on bind
    parameters: one statement per scope shape serves every caller."""
    def build():
        visible = alternatives()
        where = [or_(*visible)] if visible else []
        where.append(model.deleted_at.is_(None))
        if hasattr(model, "anonymized_at"):
            where.append(model.anonymized_at.is_(None))
        return and_(*where)
    return build


def search(ctx: Context, query: dict) -> dict:
    """The records of the asked types (all by default) the caller may read whose name, email or phone holds
    `q`: exact matches first, then prefixes, then the rest; a type the caller may not read gives nothing."""
    types = kernel.parse_types(query.get("types"), TYPES)
    text, limit = query["q"], query.get("limit") or 20
    groups = []
    for kind in types:
        if kind not in SEARCHED or not ctx.caller.can(kind, "read"):
            continue
        model, columns, describe = SEARCHED[kind]
        shape, alternatives, params = scope.alternatives(ctx.caller, kind, "read", model)
        groups.append(kernel.hits(ctx.session, model, columns, text, _where(model, alternatives), limit, describe,
                                  shape=(kind, *shape), params=params))
    return {"items": kernel.merged(groups, limit)}
