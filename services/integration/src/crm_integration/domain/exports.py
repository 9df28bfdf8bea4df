"""Bulk exports: every page of a list the caller may read, over the caller's scope, as NDJSON or CSV.

The gateway resolves the resource to its list (the owning service's `list_*` method, the permission it
declares, its columns) and asks for the export; the caller must hold that permission (else 403, nothing
queued). The job then calls the list as the caller (signed with the bus key, the caller's grants and scope as
they were when the export was asked for), page after page, and keeps each page rendered as one part of the
file (`export_parts`), with the rows written so far as the job's progress. Only its owner (or an
administrator) reads the job and downloads the parts, in order; a re-run starts the file over. Exports are
kept `CRM_EXPORT_RETENTION_HOURS` (24), then forgotten.
"""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import crm_integration_contracts as c
from crm_common import config, exports, jobs, outbox
from crm_common.context import Context
from crm_common.db import utcnow
from crm_common.errors import ServiceError, forbidden, validation
from crm_integration.models import Base, ExportPart

KIND = "export"
PAGE = 200  # rows asked per page of the list (the lists' largest limit)
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
RETENTION_HOURS = config.env_float("CRM_EXPORT_RETENTION_HOURS", 24.0)
NOT_FILTERS = ("limit", "cursor")


class Lists:
    """How the job reads another service's list: its RPC method, signed as the caller (one pool per process,
    opened when first used). Tests replace `call`."""

    def __init__(self):
        self._pool = None

    def call(self, service: str, method: str, query: dict, actor, request_id: str | None) -> dict:
        if self._pool is None:
            from crm_common.rpcclient import RpcPool
            self._pool = RpcPool(timeout=config.env_float("CRM_EXPORT_RPC_TIMEOUT", 30.0), size=4)
        return self._pool.call(service, method, query, actor=actor, request_id=request_id)


LISTS = Lists()


def start(ctx: Context, data: dict) -> dict:
    """Queue the export once the caller is known to read the list; it runs after commit."""
    source = data["source"]
    resource, action = source["permission"]
    if not ctx.caller.can(resource, action):
        raise forbidden(f"your role may not {action} {resource} records")
    if not ctx.caller.user_id:
        raise forbidden("an export belongs to a signed-in user or an API key's owner")
    bad = [name for name in data["filters"] if name in NOT_FILTERS]
    if bad:
        raise validation({f"filters.{bad[0]}": ["an export reads every page: no limit or cursor"]})
    payload = {"resource": data["resource"], "format": data["format"], "filters": data["filters"],
               "source": source, "request_id": ctx.request_id}
    job = jobs.create(ctx.session, Base.metadata, KIND, payload=payload, total=0, actor=ctx.caller)
    if ctx.service is not None:
        ctx.after_commit(lambda: ctx.service.runner.submit(job["id"]))
    return job


def _own_job(ctx: Context, job_id: str) -> dict:
    job = jobs.get(ctx.session, Base.metadata, job_id, kind=KIND)
    if job is None or not (ctx.caller.is_admin or (ctx.caller.user_id and job["owner_id"] == ctx.caller.user_id)):
        raise ServiceError("not_found", "export not found")
    return job


def get(ctx: Context, job_id: str) -> dict:
    """An export of the caller's (any, for an administrator); 404 otherwise."""
    return _own_job(ctx, job_id)


def part(ctx: Context, job_id: str, data: dict) -> dict:
    """One part of a finished export's file; a 409 while it is not done."""
    job = _own_job(ctx, job_id)
    if job["status"] != "done":
        raise ServiceError("conflict", f"the export is {job['status']}: its file is ready once it is done")
    number = data["part"]
    text = ctx.session.scalar(select(ExportPart.data).where(ExportPart.job_id == job_id, ExportPart.part == number))
    if text is None:
        raise ServiceError("not_found", "no such part of the export")
    last = ctx.session.scalar(select(func.max(ExportPart.part)).where(ExportPart.job_id == job_id))
    return {"data": text, "next_part": number + 1 if number < last else None,
            "media_type": MEDIA_TYPES[job["result"]["format"]]}


def _value(value):
    """A CSV cell: numbers and flags as written, nested values as JSON text, text guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return exports.safe_text(value)


def render(fmt: str, columns: list[str], items: list[dict], header: bool) -> str:
    """One page of rows as NDJSON lines or CSV rows (the CSV header before the first page)."""
    if fmt == "ndjson":
        return "".join(json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
                       for item in items)
    import csv
    import io
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow([exports.safe_text(name) for name in columns])
    for item in items:
        writer.writerow([_value(item.get(name)) for name in columns])
    return buffer.getvalue()


def run(ctx: jobs.JobContext) -> dict:
    """The job: every page of the list, as the caller, each kept as one part committed with the progress."""
    payload = ctx.payload
    source, fmt = payload["source"], payload["format"]
    job_id, rows, number, cursor = ctx.job["id"], 0, 0, None
    with Session(ctx.engine, expire_on_commit=False) as session:
        with session.begin():  # a re-run starts the file over
            session.execute(delete(ExportPart).where(ExportPart.job_id == job_id))
        while True:
            query = {**payload["filters"], "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = LISTS.call(source["service"], source["method"], query, ctx.actor, payload.get("request_id"))
            items = page.get("items") or []
            cursor = page.get("next_cursor")
            finished = not cursor or not items
            with session.begin():
                if items or number == 0:
                    session.add(ExportPart(job_id=job_id, part=number, data=render(fmt, source["columns"], items,
                                                                                   header=number == 0)))
                    number += 1
                rows += len(items)
                values = ctx.counters(rows, rows)
                if finished:
                    values["total"] = rows
                    outbox.record(session, ctx.metadata, "integration", c.EXPORT_COMPLETED,
                                  {"id": job_id, "resource": payload["resource"], "format": fmt, "rows": rows,
                                   "owner_id": ctx.job.get("owner_id")}, ctx.actor, payload.get("request_id"))
                ctx.store(values, session)
            if finished:
                break
    return {"resource": payload["resource"], "format": fmt, "rows": rows, "parts": number,
            "media_type": MEDIA_TYPES[fmt]}


def prune(session, hours: float = RETENTION_HOURS, now=None) -> int:
    """Forget the exports finished more than `hours` ago (their parts and their jobs); how many went."""
    table = Base.metadata.tables[jobs.JOBS]
    cutoff = (now or utcnow()) - timedelta(hours=hours)
    old = list(session.scalars(select(table.c.id).where(table.c.kind == KIND, table.c.finished_at < cutoff)))
    if old:
        session.execute(delete(ExportPart).where(ExportPart.job_id.in_(old)))
        session.execute(delete(table).where(table.c.id.in_(old)))
    return len(old)
