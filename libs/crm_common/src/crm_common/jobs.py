"""Long-running jobs with visible progress (imports, bulk updates, exports). No business rules.

    from crm_common import jobs
    jobs.install(Base.metadata)                      # in models.py: the crm_jobs table

    class Service(KernelService):
        db = Database(Base.metadata)
        runner = jobs.JobRunner(Base.metadata, {"lead_import": run_import})

        @rpc
        def start(self, rows):
            with self.db.transaction() as session:
                job = jobs.create(session, Base.metadata, "lead_import", payload=rows, total=len(rows),
                                  actor=self.db.caller)
            self.runner.submit(job["id"])           # processed in the background of the service
            return job

A handler is a plain function `work(ctx: JobContext)`: it reads `ctx.payload`, does the work in
transactions of its own (`ctx.engine`) and reports with `ctx.progress(processed=..., ...)`; what it
returns is stored as the job's `result`. A handler that raises fails the job (errors kept). Jobs left
queued or running by a stopped process are picked up again when the service starts; handlers must
therefore be safe to re-run (skip what is already done). A runner claims a job before running it: a
running job whose progress is younger than LEASE belongs to another live runner and is left alone
(progress reports renew the lease), so several replicas never run one job at once. LEASE is
`CRM_JOB_LEASE_SECONDS` (120 by default).

`cancel(session, metadata, job_id)` stops a queued or running job: its status becomes `cancelled` at once,
and its handler stops at its next progress report (`JobContext.progress` raises `Cancelled`), keeping what it
committed before; a finished job is left as it was.
"""
from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, or_, select, update
from sqlalchemy.engine import Engine

from crm_common import config
from crm_common.context import SYSTEM, Actor
from crm_common.db import is_sqlite, new_id, utcnow
from crm_common.types import UTCDateTime

log = logging.getLogger(__name__)

JOBS = "crm_jobs"
MAX_ERRORS = 100  # the first errors are kept with the job; the count keeps going
LEASE = timedelta(seconds=float(config.env("CRM_JOB_LEASE_SECONDS", "120")))  # no progress this long: taken over
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


class Cancelled(Exception):
    """The job was cancelled while it ran (raised by its progress report): the handler stops there."""
PUBLIC = ("id", "kind", "status", "total", "processed", "succeeded", "failed", "errors", "result", "owner_id",
          "created_at", "started_at", "finished_at")


def install(metadata: MetaData) -> Table:
    """Define the jobs table on a service's metadata (call from models.py; migrations pick it up)."""
    if JOBS in metadata.tables:
        return metadata.tables[JOBS]
    return Table(
        JOBS, metadata,
        Column("id", String(36), primary_key=True),
        Column("kind", String(60), nullable=False, index=True),
        Column("status", String(20), nullable=False, index=True),
        Column("total", Integer, nullable=False, default=0),
        Column("processed", Integer, nullable=False, default=0),
        Column("succeeded", Integer, nullable=False, default=0),
        Column("failed", Integer, nullable=False, default=0),
        Column("errors", JSON, nullable=False),
        Column("result", JSON, nullable=True),
        Column("payload", JSON, nullable=True),
        Column("actor", JSON, nullable=True),
        Column("owner_id", String(36), nullable=True, index=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("started_at", UTCDateTime(), nullable=True),
        Column("finished_at", UTCDateTime(), nullable=True),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


def _table(metadata: MetaData) -> Table:
    return metadata.tables[JOBS]


def to_dict(row) -> dict:
    """The job as an RPC-friendly dict (no payload)."""
    data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    return {key: data.get(key) for key in PUBLIC}


def create(session, metadata: MetaData, kind: str, payload=None, total: int = 0, actor: Actor | None = None) -> dict:
    """Add a queued job in the caller's transaction; returns its dict."""
    now = utcnow()
    values = {"id": new_id(), "kind": kind, "status": "queued", "total": total, "processed": 0, "succeeded": 0,
              "failed": 0, "errors": [], "result": None, "payload": payload,
              "actor": actor.to_dict() if actor is not None else None,
              "owner_id": actor.user_id if actor is not None else None,
              "created_at": now, "started_at": None, "finished_at": None, "updated_at": now}
    session.execute(_table(metadata).insert().values(**values))
    return to_dict(values)


def get(session, metadata: MetaData, job_id: str, kind: str | None = None) -> dict | None:
    table = _table(metadata)
    query = select(*[table.c[k] for k in PUBLIC]).where(table.c.id == job_id)
    if kind is not None:
        query = query.where(table.c.kind == kind)
    row = session.execute(query).first()
    return to_dict(row) if row is not None else None


def cancel(session, metadata: MetaData, job_id: str, kind: str | None = None) -> dict | None:
    """Cancel the job if it is queued or running (a finished one stays as it was); the job as it is now,
    None if there is no such job (of that kind)."""
    table = _table(metadata)
    query = update(table).where(table.c.id == job_id, table.c.status.in_(("queued", "running")))
    if kind is not None:
        query = query.where(table.c.kind == kind)
    session.execute(query.values(status="cancelled", finished_at=utcnow(), updated_at=utcnow()))
    return get(session, metadata, job_id, kind=kind)


def unfinished(engine: Engine, metadata: MetaData) -> list[str]:
    table = _table(metadata)
    with engine.connect() as conn:
        return list(conn.execute(select(table.c.id).where(table.c.status.in_(("queued", "running")))
                                 .order_by(table.c.created_at)).scalars())


@dataclass
class JobContext:
    """What a job handler gets: the job, its payload and actor, the engine, and progress reporting."""

    engine: Engine
    metadata: MetaData
    job: dict
    payload: object
    actor: Actor
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)

    def error(self, **details) -> None:
        """Record one failed item (kept up to MAX_ERRORS; the count goes on)."""
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(details)

    @property
    def resume_from(self) -> int:
        """Items a previous run already committed (handlers that commit progress with their work skip them)."""
        return int(self.job.get("processed") or 0)

    def progress(self, processed: int | None = None, succeeded: int | None = None, total: int | None = None,
                 conn=None) -> None:
        """Store the counters so that clients polling the job see them.

        With `conn` (a connection or session in the handler's own transaction) the counters commit
        together with the work they count, so a re-run after a crash resumes exactly there.
        """
        if processed is not None:
            self.processed = processed
        if succeeded is not None:
            self.succeeded = succeeded
        values = self.counters(self.processed, self.succeeded)
        if total is not None:
            values["total"] = total
        if conn is not None:
            self.store(values, conn)
        elif not _set(self.engine, self.metadata, self.job["id"], only_running=True, **values):
            raise Cancelled(self.job["id"])

    def counters(self, processed: int, succeeded: int) -> dict:
        """The job's progress as of now, to store later with the work it counts (see Writer)."""
        return {"processed": processed, "succeeded": succeeded, "failed": self.failed, "errors": list(self.errors),
                "updated_at": utcnow()}

    def store(self, values: dict, conn) -> None:
        """Write counters from counters() in the caller's transaction (`conn`: a connection or session)."""
        table = _table(self.metadata)
        if not conn.execute(update(table).where(table.c.id == self.job["id"], table.c.status == "running")
                            .values(**values)).rowcount:
            raise Cancelled(self.job["id"])  # the caller's transaction rolls back: the batch was not wanted
        self.processed, self.succeeded = values["processed"], values["succeeded"]


class Writer:
    """Writes a job's batches one behind: `submit(fn)` runs the batch's writing in a thread while the
    caller prepares the next batch, and `wait()` returns once it has committed (raising its error).
    One batch at a time, in order, so committed progress still marks where a re-run resumes. Under
    eventlet (a job running inside a service) threads are green, and on SQLite (make_engine's write lock
    belongs to the thread that began the transaction) a batch must commit where it began: there
    `submit` just runs `fn`.

        with jobs.Writer(ctx.engine) as writer:
            for batch in batches:
                prepared = prepare(batch)       # runs while the previous batch is being written
                writer.wait()
                writer.submit(lambda: write(prepared))
    """

    def __init__(self, engine: Engine | None = None):
        from eventlet import patcher
        threaded = not (engine is not None and is_sqlite(engine)) and not patcher.is_monkey_patched("thread")
        self._pool = ThreadPoolExecutor(1, "job-writer") if threaded else None
        self._pending = None

    def submit(self, fn) -> None:
        self.wait()
        if self._pool is None:
            fn()
        else:
            self._pending = self._pool.submit(fn)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


def _fail(engine: Engine, metadata: MetaData, job_id: str, error: str, kept: list = (), **counters) -> None:
    """Mark the job failed: the item errors it kept (up to MAX_ERRORS), then `error`."""
    _set(engine, metadata, job_id, status="failed", errors=[*list(kept)[:MAX_ERRORS], {"error": error}],
         finished_at=utcnow(), updated_at=utcnow(), only_running=True, **counters)


def _set(engine: Engine, metadata: MetaData, job_id: str, only_running: bool = False, **values) -> bool:
    """Update the job's row (with `only_running`, only while it runs: not once cancelled); whether it did."""
    table = _table(metadata)
    query = update(table).where(table.c.id == job_id)
    if only_running:
        query = query.where(table.c.status == "running")
    with engine.begin() as conn:
        return bool(conn.execute(query.values(**values)).rowcount)


def claim(engine: Engine, metadata: MetaData, job_id: str):
    """The job's row if this runner may run it now (queued, or running without progress for LEASE)."""
    table = _table(metadata)
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(table).where(table.c.id == job_id)).first()
        if row is None or row.status in FINISHED:
            return None
        claimed = conn.execute(update(table).where(
            table.c.id == job_id, or_(table.c.status == "queued", table.c.updated_at < now - LEASE))
            .values(status="running", started_at=row.started_at or now, updated_at=now)).rowcount
    return row if claimed == 1 else None


def run(engine: Engine, metadata: MetaData, job_id: str, work) -> dict:
    """Run one job to its end with `work(ctx)`; returns the job's dict (unchanged if another runner has it).
    Never raises."""
    table = _table(metadata)
    row = claim(engine, metadata, job_id)
    if row is None:
        with engine.connect() as conn:
            current = conn.execute(select(table).where(table.c.id == job_id)).first()
        return to_dict(current) if current is not None else {}
    job = to_dict(row)
    ctx = JobContext(engine, metadata, job, row.payload, Actor.from_dict(row.actor) or SYSTEM,
                     processed=row.processed, succeeded=row.succeeded, failed=row.failed, errors=list(row.errors or []))
    try:
        result = work(ctx)
    except Cancelled:
        log.info("job %s (%s) cancelled after %d items", job_id, job["kind"], ctx.processed)
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, job["kind"])
        _fail(engine, metadata, job_id, "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500],
              kept=ctx.errors, processed=ctx.processed, succeeded=ctx.succeeded, failed=ctx.failed)
    else:
        _set(engine, metadata, job_id, status="done", processed=ctx.processed, succeeded=ctx.succeeded,
             failed=ctx.failed, errors=ctx.errors, result=result, payload=None, finished_at=utcnow(),
             updated_at=utcnow(), only_running=True)
    with engine.connect() as conn:
        return to_dict(conn.execute(select(table).where(table.c.id == job_id)).first())


# -- the nameko side: a dependency that runs jobs in the service's background -------------------

from nameko.extensions import DependencyProvider  # noqa: E402  (kept apart from the plain part above)


class JobRunner(DependencyProvider):
    """`self.runner.submit(job_id)` runs the job in the service's background.

    `handlers` maps a job kind to `work(ctx)`. On start, jobs a stopped process left unfinished run again.
    With `metadata_ref` (where the worker process imports the service's metadata from, e.g.
    `crm_sales.models:Base.metadata`), a job on PostgreSQL runs in a process of its own
    (crm_common.jobworker) that this runner waits for: a long import then uses another core instead of
    the service's event loop. On SQLite, whose writers the service serializes with a lock of its own
    process, jobs stay in a managed thread of the service.
    """

    def __init__(self, metadata: MetaData, handlers: dict, metadata_ref: str | None = None):
        self.metadata = metadata
        self.handlers = dict(handlers)
        self.metadata_ref = metadata_ref
        self._workers: set = set()  # worker processes running now
        self._stopping = False

    def stop(self):
        self._stopping = True
        for proc in list(self._workers):  # the job resumes from its last committed progress when started again
            proc.terminate()

    def kill(self):
        self.stop()

    def _engine(self) -> Engine:
        from crm_common.dependencies import Database
        for dep in self.container.dependencies:
            if isinstance(dep, Database):
                return dep.engine
        raise RuntimeError("a JobRunner needs the service's Database dependency")

    def start(self):
        try:
            pending = unfinished(self._engine(), self.metadata)
        except Exception as exc:  # no table yet (not migrated): nothing to resume
            log.warning("jobs: cannot look for unfinished jobs (%s)", type(exc).__name__)
            return
        for job_id in pending:
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        self.container.spawn_managed_thread(lambda: self._run(job_id), identifier=f"job:{job_id}")

    def _run(self, job_id: str) -> None:
        import eventlet

        engine = self._engine()
        for _ in range(3):  # a job another (maybe dead) runner holds is tried again when its lease ends
            if self._run_once(engine, job_id) not in ("queued", "running"):
                return
            eventlet.sleep(LEASE.total_seconds() + 1)

    def _run_once(self, engine: Engine, job_id: str) -> str | None:
        table = _table(self.metadata)
        with engine.connect() as conn:
            kind = conn.execute(select(table.c.kind).where(table.c.id == job_id)).scalar()
        work = self.handlers.get(kind)
        if work is None:
            _fail(engine, self.metadata, job_id, f"no handler for {kind!r}")
            return "failed"
        if self.metadata_ref and engine.dialect.name == "postgresql":
            return self._run_in_worker_process(engine, job_id, work)
        return run(engine, self.metadata, job_id, work).get("status")

    def _run_in_worker_process(self, engine: Engine, job_id: str, work) -> str | None:
        import os
        import subprocess  # green under the service's eventlet: waiting does not block the service
        import sys

        from crm_common import jobworker
        env = {**os.environ, jobworker.URL_VARIABLE: engine.url.render_as_string(hide_password=False)}
        command = [sys.executable, "-m", "crm_common.jobworker", self.metadata_ref, jobworker.reference(work), job_id]
        proc = subprocess.Popen(command, env=env)
        self._workers.add(proc)
        try:
            code = proc.wait()
        finally:
            self._workers.discard(proc)
        table = _table(self.metadata)
        with engine.connect() as conn:
            status, errors = conn.execute(select(table.c.status, table.c.errors).where(table.c.id == job_id)).one()
        if code != 0 and status == "running" and not self._stopping:  # the worker died: say so, keep its commits
            log.error("job %s: its worker process exited with %s", job_id, code)
            _fail(engine, self.metadata, job_id, f"the job's worker process exited with code {code}", kept=errors or [])
            return "failed"
        return status

    def get_dependency(self, worker_ctx):
        return self
