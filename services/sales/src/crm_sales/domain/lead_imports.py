"""Lead imports: CSV text or JSON rows, processed as a job in batches with progress.

Each batch is one transaction: its leads (one COPY on PostgreSQL, one multi-row INSERT elsewhere), its one
`sales.leads_imported.v1` event (outbox) and the job's counters commit together, so a job resumed after a
crash starts after the last committed batch. On PostgreSQL the job runs in a worker process and writes
each batch while it validates the next (jobs.Writer). Leads created one at a time (API, forms) keep their per-lead events. Rows that fail
validation are reported with their row number; duplicates (same email, phone, or company and last
name, in the database or earlier in the file) are linked to the first one, or skipped without `force`.
Custom fields come as `custom.<name>` columns (crm_common.records.custom_fields.imported: checked like the API's,
defaults filled, required and unique enforced per row; an unknown field is a 422 before the job starts).
"""
from __future__ import annotations

import csv
import io
import re
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

import crm_sales_contracts as c
from crm_common import bulk, jobs, outbox
from crm_common.db import new_ordered_id, utcnow
from crm_common.errors import ServiceError, validation
from crm_common.records import custom_fields as cf
from crm_sales.domain import assignment, import_duplicates, leads
from crm_sales.models import Base, Lead

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

KIND = "lead_import"
BATCH = 1000
YIELD_EVERY = 200  # rows between cooperative yields, so the service keeps answering during an import
COLUMNS = leads.FIELDS


def _csv_header(text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise validation({"csv": [f"unreadable CSV: {exc}"]}) from None
    if not first:
        raise validation({"csv": ["the CSV needs a header row naming the columns"]})
    header = [name.strip() for name in first]
    unknown = [name for name in header if name not in COLUMNS and cf.import_column(name) is None]
    if unknown:
        raise validation({"csv": [f"unknown columns: {', '.join(unknown)}; use {', '.join(COLUMNS)} or "
                                  "custom.<name> for a custom field"]})
    return header


def _csv_rows(text: str) -> list[dict]:
    """The data rows of an import's CSV as dicts keyed by the (checked) header."""
    header = _csv_header(text)
    reader = csv.DictReader(io.StringIO(text), fieldnames=header)
    try:
        next(reader)  # the header row itself
        return [{k: v for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise validation({"csv": [f"unreadable CSV: {exc}"]}) from None


def _count_csv_rows(text: str) -> int:
    """Data rows, with the whole file read once as CSV (so an unreadable file is a 422 now, not a failed job)."""
    _csv_header(text)
    try:
        return sum(1 for row in csv.reader(io.StringIO(text)) if row) - 1  # DictReader skips blank lines too
    except csv.Error as exc:
        raise validation({"csv": [f"unreadable CSV: {exc}"]}) from None


def parse(data: dict) -> list[dict]:
    """The rows of an import request (422 for unknown columns or unreadable CSV)."""
    if data.get("csv") is not None:
        return _csv_rows(data["csv"])
    rows = data.get("rows") or []
    unknown = sorted({k for row in rows for k in row if k not in COLUMNS and cf.import_column(k) is None})
    if unknown:
        raise validation({"rows": [f"unknown fields: {', '.join(unknown)}; use {', '.join(COLUMNS)} or "
                                   "custom.<name> for a custom field"]})
    return rows


LENGTHS = {column.name: column.type.length for column in Lead.__table__.columns
           if column.name in COLUMNS and getattr(column.type, "length", None)}
LENGTHS["email"], LENGTHS["phone"] = 254, 40  # before normalization


def _clean(row: dict) -> dict:
    data = {}
    for name, value in row.items():
        if value is not None and not isinstance(value, str):
            value = str(value)
        if isinstance(value, str):
            value = value.strip() or None
        data[name] = value
    too_long = {name: [f"at most {LENGTHS[name]} characters"] for name, value in data.items()
                if value and name in LENGTHS and len(value) > LENGTHS[name]}
    if too_long:
        raise validation(too_long)
    if data.get("country"):
        data["country"] = str(data["country"]).upper()
    if data.get("score") is not None:
        try:
            data["score"] = int(data["score"])
        except (TypeError, ValueError):
            raise validation({"score": ["a whole number from 0 to 100"]}) from None
        if not 0 <= data["score"] <= 100:
            raise validation({"score": ["a whole number from 0 to 100"]})
    if data.get("country") and not re.fullmatch(r"[A-Z]{2}", data["country"]):
        raise validation({"country": ["an ISO 3166 alpha-2 code like DE"]})
    return data


def start(ctx: Context, data: dict) -> dict:
    """Validate the request and queue the job; once it is committed, the service runs it in the background."""
    actor = ctx.caller
    if not actor.can("lead", "create"):
        raise ServiceError("forbidden", "your role may not create leads")
    payload = {"force": data.get("force", True), "request_id": ctx.request_id}
    if data.get("csv") is not None:
        # the job keeps the CSV text and reads it itself: the rows stored as JSON objects would take far
        # longer to write with the job and read back than the text
        total = _count_csv_rows(data["csv"])
        payload["csv"] = data["csv"]
        columns = _csv_header(data["csv"])
    else:
        payload["rows"] = parse(data)
        total = len(payload["rows"])
        columns = {k for row in payload["rows"] for k in row}
    unknown = cf.unknown_import_columns(cf.definitions(ctx.session, Base.metadata, "lead"), columns)
    if unknown:
        raise validation(unknown)
    if not total:
        raise validation({"rows": ["nothing to import"]})
    job = jobs.create(ctx.session, Base.metadata, KIND, payload=payload, total=total, actor=actor)
    if ctx.service is not None:
        ctx.after_commit(lambda: ctx.service.runner.submit(job["id"]))
    return job


def get(ctx: Context, job_id: str | None = None) -> dict:
    """An import job of the caller's (or any, for those who import for all)."""
    actor = ctx.caller
    job = jobs.get(ctx.session, Base.metadata, job_id, kind=KIND) if job_id else None
    if job is None or not (actor.scope("lead", "create") == "all" or actor.is_admin
                           or (actor.user_id and job["owner_id"] == actor.user_id)):
        raise ServiceError("not_found", "import not found")
    return job


def run(ctx: jobs.JobContext) -> dict:
    """The job handler: every row validated, deduplicated, assigned; each batch inserted with one statement and
    announced with one `sales.leads_imported.v1` event (its ids and their owners), counters in the same commit.
    While one batch is written (its COPY, event and counters, then the commit), the next is validated."""
    rows = _csv_rows(ctx.payload["csv"]) if ctx.payload.get("csv") is not None else ctx.payload["rows"]
    force = ctx.payload.get("force", True)
    request_id = ctx.payload.get("request_id")
    seen = import_duplicates.Seen()
    linked = 0
    succeeded = ctx.succeeded
    with Session(ctx.engine, expire_on_commit=False) as session, jobs.Writer(ctx.engine) as writer:
        assigner = assignment.Assigner(session)
        with session.begin():
            assigner.territory_for(None, None)  # territories loaded now: validation then needs no database
            custom = cf.definitions(session, Base.metadata, "lead")
        unique_seen: dict = {}
        start_at = ctx.resume_from  # a resumed job: earlier batches are committed (and found as duplicates)
        for offset in range(start_at, len(rows), BATCH):
            chunk = rows[offset:offset + BATCH]
            batch = _validated(ctx, chunk, offset + 1, assigner, custom)  # meanwhile the previous one is written
            writer.wait()
            transaction = session.begin()
            try:
                seen.load(session, batch)  # one query: the batch's emails, phones and companies already stored
                batch = _unique_custom(ctx, session, batch, custom, unique_seen)
                inserts, linked_now = _prepared(ctx, session, batch, seen, force, assigner)
                linked += linked_now
                succeeded += len(inserts)
                write = _batch_writer(ctx, session, transaction, inserts, request_id,
                                      ctx.counters(min(offset + len(chunk), len(rows)), succeeded))
            except BaseException:
                transaction.rollback()
                raise
            writer.submit(write)
    return {"imported": ctx.succeeded, "linked_duplicates": linked, "failed": ctx.failed}


def _prepared(ctx, session, batch: list[dict], seen: import_duplicates.Seen, force: bool,
              assigner) -> tuple[list[dict], int]:
    """The rows of the batch to insert (duplicates linked, or reported without `force`), each with its owner."""
    inserts = []
    linked = 0
    now = utcnow()
    for values in batch:
        row_number = values.pop("_row")
        values["id"] = new_ordered_id()  # time-ordered: the COPY appends to the primary-key index
        duplicate_of, hits = seen.match(values)
        if duplicate_of and not force:
            ctx.error(row=row_number, errors={"duplicate": [f"same {', '.join(hits)} as lead {duplicate_of}"]},
                      duplicate_of_id=duplicate_of, email=values["email"])
            continue
        linked += bool(duplicate_of)
        values["duplicate_of_id"] = duplicate_of
        lead = SimpleNamespace(**values, owner_id=None, team_id=None, assignment_rule=None)
        leads.assign_new(assigner, ctx.actor, lead)
        values.update(owner_id=lead.owner_id, team_id=lead.team_id, assignment_rule=lead.assignment_rule,
                      import_job_id=ctx.job["id"], created_at=now, updated_at=now, version=1)
        seen.add(values)
        inserts.append(values)
    return inserts, linked


def _batch_writer(ctx, session, transaction, inserts: list[dict], request_id, counters: dict):
    """What writes a prepared batch and commits it: rows (formatted now), its event, the job's counters."""
    copy = bulk.prepare(session.get_bind().dialect, Lead.__table__, inserts)  # COPY on PostgreSQL
    event = batch_event(ctx.job["id"], inserts) if inserts else None

    def write() -> None:
        try:
            copy(session)
            if event is not None:
                outbox.record(session, ctx.metadata, "sales", c.LEADS_IMPORTED, event, ctx.actor, request_id)
            ctx.store(counters, session)
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise

    return write


def _unique_custom(ctx, session, batch: list[dict], custom: dict, seen: dict) -> list[dict]:
    """The batch without the rows whose unique custom values another lead or an earlier row holds (reported)."""
    if not any(definition["unique"] for definition in custom.values()):
        return batch
    kept = []
    for values in batch:
        errors = cf.duplicated_unique(session, Lead, custom, values["custom_fields"], seen)
        if errors:
            ctx.error(row=values["_row"], errors=errors)
        else:
            kept.append(values)
    return kept


def _validated(ctx: jobs.JobContext, chunk: list[dict], first_row: int, assigner: assignment.Assigner,
               custom: dict) -> list[dict]:
    """The column values of the chunk's valid rows (with `_row`); each invalid row reported with its number."""
    batch = []
    for index, row in enumerate(chunk, start=first_row):
        if index % YIELD_EVERY == 0:
            time.sleep(0)  # a green yield under eventlet (the service), nothing otherwise
        own = {name: value for name, value in row.items() if cf.import_column(name) is None}
        try:
            values = leads.lead_values(_clean(own), "import", assigner)
            values["custom_fields"] = cf.imported(custom, {cf.import_column(name): value for name, value in row.items()
                                                           if cf.import_column(name) is not None})
        except ServiceError as exc:
            ctx.error(row=index, errors=exc.errors or {"_row": [exc.detail]})
            continue
        values["_row"] = index
        batch.append(values)
    return batch


EVENT_FIELDS = ("id", "owner_id", "team_id", "territory_id", "status", "source", "email", "company")


def batch_event(job_id: str, inserted: list[dict]) -> dict:
    """The data of one batch's `sales.leads_imported.v1`: its ids and, per lead, what consumers route on."""
    return {"job_id": job_id, "ids": [values["id"] for values in inserted],
            "leads": [{name: values[name] for name in EVENT_FIELDS} for values in inserted]}
