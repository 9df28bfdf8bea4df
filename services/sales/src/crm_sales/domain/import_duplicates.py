"""Duplicates during a lead import: the keys of the rows so far and of the stored leads, looked up per batch.

A row is a duplicate of the first lead (stored, or earlier in the file) with the same email, the same
phone, or the same company and last name. Each batch asks the database once for its keys; the rows
already seen in the file are remembered here.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import and_, func, or_, select, text

from crm_common import scope

from crm_sales.models import Lead


def _stored(emails: set, phones: set, companies: set, postgresql: bool = False):
    """The live leads with one of these emails, phones or companies (with a last name), oldest first."""
    conditions = []
    if emails:
        conditions.append(scope.one_of(Lead.email, postgresql, values=sorted(emails)))
    if phones:
        conditions.append(scope.one_of(Lead.phone, postgresql, values=sorted(phones)))
    if companies:
        conditions.append(and_(scope.one_of(Lead.company_key, postgresql, values=sorted(companies)),
                               Lead.last_name.is_not(None)))
    return (select(Lead.id, Lead.email, Lead.phone, Lead.company_key, func.lower(Lead.last_name))
            .where(or_(*conditions), Lead.deleted_at.is_(None), Lead.anonymized_at.is_(None))
            .order_by(Lead.created_at))


@contextmanager
def _index_lookups(session):
    """On PostgreSQL, plan the duplicate lookup with the key indexes (`enable_seqscan` off for it alone, in
    this transaction). Statistics lag while a table fills, as it does during an import: planned on them,
    the lookup of a batch's keys can become a scan of every lead, growing with the table; through the
    three indexes (a bitmap of each) it reads only the matching entries."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    previous = session.execute(text("SELECT current_setting('enable_seqscan'), "
                                    "set_config('enable_seqscan', 'off', true)")).scalar()
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('enable_seqscan', :previous, true)"), {"previous": previous})


class Seen:
    """Duplicate keys of the rows so far and of the database, each mapped to the first lead's id."""

    def __init__(self):
        self.email, self.phone, self.company = {}, {}, {}

    def load(self, session, batch: list[dict]) -> None:
        emails = {v["email"] for v in batch if v["email"] and v["email"] not in self.email}
        phones = {v["phone"] for v in batch if v["phone"] and v["phone"] not in self.phone}
        companies = {v["company_key"] for v in batch if v["company_key"]}
        if not (emails or phones or companies):
            return
        with _index_lookups(session):
            postgresql = session.get_bind().dialect.name == "postgresql"
            found = session.execute(_stored(emails, phones, companies, postgresql)).all()
        for lead_id, email, phone, company_key, last in found:
            if email:
                self.email.setdefault(email, lead_id)
            if phone:
                self.phone.setdefault(phone, lead_id)
            if company_key and last:
                self.company.setdefault((company_key, last), lead_id)

    def match(self, values: dict) -> tuple[str | None, list[str]]:
        hits = []
        first = None
        company = (values["company_key"], (values["last_name"] or "").lower()) if values["company_key"] else None
        for name, table, value in (("email", self.email, values["email"]), ("phone", self.phone, values["phone"]),
                                   ("company", self.company, company)):
            if value and value in table and table[value]:
                hits.append(name)
                first = first or table[value]
        return first, hits

    def add(self, values: dict) -> None:
        if values["email"]:
            self.email.setdefault(values["email"], values["id"])
        if values["phone"]:
            self.phone.setdefault(values["phone"], values["id"])
        if values["company_key"] and values["last_name"]:
            self.company.setdefault((values["company_key"], values["last_name"].lower()), values["id"])
