"""Bulk upserts by external id, for ETL: an NDJSON file (one JSON object a line, each with its
`external_id` and the record's fields as for a create) runs as a job; each line is one upsert
(domain.external_ids.upsert: the resource's own rules, events through the outbox), so running the same
file again changes nothing. A line that fails (unreadable JSON, a bad field, a refused update) is reported
with its row number (the line of the file), the field and the message; the other lines go on.

Lines are upserted in batches, each one transaction with the job's counters (a resumed job starts after
the last committed batch); each line in a savepoint of its own, so a failed line leaves nothing behind.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crm_sales_contracts as c
from crm_common import jobs, outbox
from crm_common.context import Context
from crm_common.errors import ServiceError, conflict, validation
from crm_common.rpc import load_input
from crm_sales.domain import external_ids
from crm_sales.models import Base

if TYPE_CHECKING:
    from crm_common.entrypoint import Context as EntryContext

KIND = "external_id_upsert"  # a job's kind names its resource too: KIND + ":account" (the payload goes when done)
KINDS = {resource: f"{KIND}:{resource}" for resource in ("account", "contact", "product", "order")}
BATCH = 100
MAX_LINES = 100_000
INPUTS = {"account": c.UPSERT_ACCOUNT, "contact": c.UPSERT_CONTACT, "product": c.UPSERT_PRODUCT,
          "order": c.UPSERT_ORDER}


def lines(text: str) -> list[tuple[int, str]]:
    """The file's non-blank lines with their (1-based) line numbers."""
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def record_of(resource: str, line: str) -> tuple[str, dict]:
    """The external id and the loaded create input of one line (a validation error naming the field)."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise validation({"line": [f"not JSON: {exc.msg}"]}) from None
    if not isinstance(row, dict):
        raise validation({"line": ["not a JSON object"]})
    external_id = row.pop("external_id", None)
    external_ids.check_names(external_id=external_id)
    return external_id, load_input(INPUTS[resource], row)


def row_error(number: int, error: ServiceError) -> dict:
    """What the job reports of a failed line: its row number, the (first) field and its message."""
    if error.errors:
        field, messages = next(iter(error.errors.items()))
        while isinstance(messages, dict):  # a nested field: name its path
            key, messages = next(iter(messages.items()))
            field = f"{field}.{key}"
        message = messages[0] if isinstance(messages, list) and messages else str(messages)
    else:
        field, message = None, error.detail or error.code
    return {"row": number, "field": field, "message": str(message), "code": error.code}


def start(ctx: EntryContext, resource: str, data: dict, system: str) -> dict:
    """Check the file and queue the job; once committed, the service runs it in the background."""
    external_ids.check_names(system=system)
    count = len(lines(data["ndjson"]))
    if not count:
        raise validation({"ndjson": ["nothing to upsert: one JSON object a line"]})
    if count > MAX_LINES:
        raise validation({"ndjson": [f"at most {MAX_LINES} lines a file"]})
    payload = {"resource": resource, "system": system, "ndjson": data["ndjson"], "request_id": ctx.request_id}
    job = jobs.create(ctx.session, Base.metadata, KINDS[resource], payload=payload, total=count, actor=ctx.caller)
    if ctx.service is not None:
        ctx.after_commit(lambda: ctx.service.runner.submit(job["id"]))
    return job


def get(ctx: EntryContext, resource: str, job_id: str | None = None, system: str | None = None) -> dict:
    """A bulk upsert of the caller's (or any, for an admin) of this resource; 404 otherwise. (`system`, of the
    route's path, is checked as a name (422 as for the upsert), not against the job: the job id names it.)"""
    external_ids.check_names(system=system)
    job = jobs.get(ctx.session, Base.metadata, job_id, kind=KINDS[resource]) if job_id else None
    if job is None or not (ctx.caller.is_admin or (ctx.caller.user_id and job["owner_id"] == ctx.caller.user_id)):
        raise ServiceError("not_found", "bulk upsert not found")
    return job


def run(ctx: jobs.JobContext) -> dict:
    """The job handler: every line upserted in its own savepoint; batches commit with the job's counters."""
    resource, system = ctx.payload["resource"], ctx.payload["system"]
    request_id = ctx.payload.get("request_id")
    rows = lines(ctx.payload["ndjson"])
    succeeded, created = ctx.succeeded, 0
    with Session(ctx.engine, expire_on_commit=False) as session:
        def emit(type_: str, data: dict, actor=None) -> dict:
            return outbox.record(session, ctx.metadata, "sales", type_, data, actor or ctx.actor, request_id)
        domain_ctx = Context(session, ctx.actor, emit, request_id)
        for offset in range(ctx.resume_from, len(rows), BATCH):
            with session.begin():
                for number, line in rows[offset:offset + BATCH]:
                    try:
                        external_id, data = record_of(resource, line)
                        with session.begin_nested():
                            record = external_ids.upsert(domain_ctx, resource, system, external_id, data)
                    except ServiceError as exc:
                        ctx.error(**row_error(number, exc))
                        continue
                    except IntegrityError:  # the same key upserted at once elsewhere: the line can be re-run
                        ctx.error(**row_error(number, conflict("the external id was linked at the same time")))
                        continue
                    succeeded += 1
                    created += bool(record.created)
                ctx.store(ctx.counters(min(offset + BATCH, len(rows)), succeeded), session)
            session.expunge_all()
    return {"upserted": ctx.succeeded, "created": created, "failed": ctx.failed, "system": system}


def _for(resource: str):
    def started(ctx: EntryContext, data: dict, system: str) -> dict:
        return start(ctx, resource, data, system)

    def got(ctx: EntryContext, job_id: str | None = None, system: str | None = None) -> dict:
        return get(ctx, resource, job_id, system)
    started.__doc__, got.__doc__ = start.__doc__, get.__doc__
    return started, got


start_accounts, get_accounts = _for("account")
start_contacts, get_contacts = _for("contact")
start_products, get_products = _for("product")
start_orders, get_orders = _for("order")
