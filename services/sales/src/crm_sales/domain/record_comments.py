"""Comments with @mentions on leads, accounts, contacts and opportunities (crm_common.records.comments): a
mention names a user of the sales service's copy of the directory."""
from __future__ import annotations

from sqlalchemy import func, select

import crm_sales_contracts as c
from crm_common.records import attachments, comments
from crm_sales.domain import records
from crm_sales.models import Account, Base, Contact, Lead, Opportunity, Quote, SalesContract, SalesUser


def users_by_email(session, emails: list[str]) -> dict[str, str]:
    rows = session.execute(select(func.lower(SalesUser.email), SalesUser.id).where(
        func.lower(SalesUser.email).in_(emails), SalesUser.is_active.is_(True))).all()
    return {email: user_id for email, user_id in rows}


def _on(resource: str, model):
    return comments.functions(Base.metadata, resource,
                              lambda ctx, record_id, action: records.load(ctx, resource, model, record_id, action),
                              users_by_email, c.COMMENT_MENTIONED, c.RECORD_CHANGED)


LEAD = _on("lead", Lead)
ACCOUNT = _on("account", Account)
CONTACT = _on("contact", Contact)
OPPORTUNITY = _on("opportunity", Opportunity)


# files on the same records, and on quotes and contracts (crm_common.records.attachments)
ATTACHMENTS = attachments.functions(
    Base.metadata, "sales",
    {resource: (lambda r, m: lambda ctx, record_id, action: records.load(ctx, r, m, record_id, action))(resource, model)
     for resource, model in (("lead", Lead), ("account", Account), ("contact", Contact),
                             ("opportunity", Opportunity), ("quote", Quote), ("contract", SalesContract))},
    c.RECORD_CHANGED)
