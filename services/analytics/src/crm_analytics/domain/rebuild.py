"""Rebuild: replay the whole log into the other generation of read models as a job, while the active one
keeps answering, then switch.

1. under the state row's update lock (no live event is being projected: each holds it shared until its
   commit), note the last logged `seq` S0 and mark the other generation as being rebuilt;
2. empty that generation and replay every event up to S0 into it, in batches, with progress; PostgreSQL: VACUUM
   ANALYZE it (its visibility map and statistics, before it answers); count its tickets' days
   (domain/ticket_days.py), so that its dated queries read their edge days from rows from the first answer;
3. under the update lock again, replay what was logged after S0 and make it the active generation.
A job re-run after a crash starts over from step 1 (the old generation answers meanwhile).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from crm_common import heap, jobs
from crm_common.db import serialize_on, utcnow
from crm_common.errors import ServiceError

from crm_analytics.domain import ticket_days
from crm_analytics.domain.privacy import ERASING
from crm_analytics.models import EVENTS, GENERATIONS, STATE, Base
from crm_analytics.projections import project_many

KIND = "analytics_rebuild"
BATCH = 2000


def start(ctx, data: dict | None = None) -> dict:
    """Queue a rebuild (one at a time: a second request while one runs answers that one)."""
    from crm_analytics.domain.log import state
    current = state(ctx.session, lock="update")
    if current.rebuild_job_id:
        job = jobs.get(ctx.session, Base.metadata, current.rebuild_job_id, kind=KIND)
        if job is not None and job["status"] in ("queued", "running"):
            return job
    total = ctx.session.execute(select(func.count()).select_from(EVENTS)).scalar() or 0
    job = jobs.create(ctx.session, Base.metadata, KIND, payload={}, total=int(total), actor=ctx.caller)
    ctx.session.execute(update(STATE).where(STATE.c.id == 1).values(rebuild_job_id=job["id"]))
    if ctx.service is not None:
        ctx.after_commit(lambda: ctx.service.runner.submit(job["id"]))
    return job


def get(ctx, job_id: str | None = None) -> dict:
    job = jobs.get(ctx.session, Base.metadata, job_id, kind=KIND) if job_id else None
    if job is None:
        raise ServiceError("not_found", "rebuild not found")
    return job


def _replay(conn, t, after: int, upto: int | None) -> tuple[int, int]:
    """Project the logged events with after < seq <= upto into `t`; (count, last seq). An erasure is not
    under way meanwhile (`privacy.ERASING`): the batch reads the log as it cut it, and the cut of the read
    models comes after the batch's rows."""
    serialize_on(conn, ERASING, shared=True)
    query = select(EVENTS.c.seq, EVENTS.c.occurred_at, EVENTS.c.envelope).where(EVENTS.c.seq > after) \
        .order_by(EVENTS.c.seq).limit(BATCH)
    if upto is not None:
        query = query.where(EVENTS.c.seq <= upto)
    with heap.paused():  # as a live batch (domain/log.py)
        rows = conn.execute(query).all()
        if not rows:
            return 0, after
        for _, at, envelope in rows:  # the time the log keeps, as the live projection reads it (domain/log.py:
            envelope["occurred_at"] = at  # when the producer sent none, the event's receipt), parsed once
        project_many(conn, t, [envelope for _, _, envelope in rows])
        return len(rows), rows[-1].seq


def run(jctx: jobs.JobContext) -> dict:
    """The job: see the module's doc."""
    from crm_analytics.domain.log import state
    engine = jctx.engine
    with engine.begin() as conn:
        current = state(conn, lock="update")
        target = "b" if current.active == "a" else "a"
        upto = conn.execute(select(func.max(EVENTS.c.seq))).scalar() or 0
        total = conn.execute(select(func.count()).select_from(EVENTS)).scalar() or 0
        conn.execute(update(STATE).where(STATE.c.id == 1).values(rebuilding=target))
    t = GENERATIONS[target]
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name.startswith("an_") and table.name.endswith(f"_{target}"):
                conn.execute(table.delete())
    jctx.progress(processed=0, succeeded=0, total=int(total))
    done, last = 0, 0
    while True:
        with engine.begin() as conn:
            count, last = _replay(conn, t, last, upto)
        if not count:
            break
        done += count
        jctx.progress(processed=done, succeeded=done)
    _vacuum(engine, target)
    days = ticket_days.refresh_all(engine.begin, gen=target)
    caught_up = 0
    with engine.begin() as conn:
        state(conn, lock="update")
        while True:
            count, last = _replay(conn, t, last, None)
            if not count:
                break
            caught_up += count
        conn.execute(update(STATE).where(STATE.c.id == 1).values(active=target, rebuilding=None, rebuilt_at=utcnow()))
    jctx.progress(processed=done + caught_up, succeeded=done + caught_up, total=done + caught_up)
    return {"generation": target, "replayed": done, "days_counted": days, "caught_up": caught_up}


def _vacuum(engine, target: str) -> None:
    """PostgreSQL: VACUUM ANALYZE the generation just filled, before it answers. Its rows were all just written, so
    without it the visibility map is empty (no index-only scan: the sales cycle's deals won were read from the heap
    and sorted, ~270 ms CPU at 1,000,000 deals against ~35 ms) and the planner has no statistics until autovacuum
    comes by."""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in Base.metadata.sorted_tables:
            if table.name.startswith("an_") and table.name.endswith(f"_{target}"):
                conn.execute(text(f'VACUUM ANALYZE "{table.name}"'))
