"""Executing runs: claimed with a lease, one step at a time, the outcome of each committed before the next.

A run is created before anything acts (domain.engine). A worker claims it by setting a lease (`lease_until`);
a worker killed with SIGKILL leaves the lease to expire and the next sweep resumes the run at the step that
was not recorded (so a step may run twice after a crash, never zero times). A step that fails is retried
after `CRM_AUTOMATION_RETRY_DELAYS` (seconds, comma-separated), then the run is parked as failed, for an
operator to replay from that step with the workflow version that ran. A `wait` step puts the run to sleep
until its due time; then the conditions are checked again on the record as it is by then.

`transact(fn, *args)` runs `fn(ctx, *args)` in one transaction (entrypoint.run in the service).
"""
from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy import or_, select, update

from crm_common import config
from crm_common.errors import ServiceError
from crm_automation import clock
from crm_automation.domain import actions, bus as buses, conditions, definitions, notifications, targets
from crm_automation.models import ACTIVE_RUN, WorkflowRun
from crm_automation_contracts import workflows as c

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running", "waiting")
LEASE_SECONDS = 60.0
SWEEP_BATCH = 50
WORKER = f"worker-{uuid.uuid4().hex[:12]}"


def retry_delays() -> list[float]:
    raw = config.env("CRM_AUTOMATION_RETRY_DELAYS", "2,10")
    return [float(x) for x in raw.split(",") if x.strip()]


def due_runs(ctx, limit: int = 50) -> list[str]:
    """The runs to execute now; `ACTIVE_RUN` word for word, as the partial index has it (SQLite uses the index
    only then)."""
    now = clock.now()
    return list(ctx.session.scalars(select(WorkflowRun.id).where(
        ACTIVE_RUN, or_(WorkflowRun.due_at.is_(None), WorkflowRun.due_at <= now),
        or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now)).order_by(WorkflowRun.due_at)
        .limit(limit)))


def claim(ctx, run_id: str, owner: str) -> bool:
    now = clock.now()
    result = ctx.session.execute(update(WorkflowRun).where(
        WorkflowRun.id == run_id, WorkflowRun.status.in_(ACTIVE),
        or_(WorkflowRun.due_at.is_(None), WorkflowRun.due_at <= now),
        or_(WorkflowRun.lease_until.is_(None), WorkflowRun.lease_until < now)).values(
        lease_owner=owner, lease_until=clock.after(LEASE_SECONDS)).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _held(ctx, run_id: str, owner: str) -> WorkflowRun | None:
    run = ctx.session.get(WorkflowRun, run_id)
    return run if run is not None and run.lease_owner == owner and run.status in ACTIVE else None


def _finish(ctx, run: WorkflowRun, status: str, note: str | None = None, error: str | None = None) -> None:
    now = clock.now_in(ctx.session)
    run.status, run.finished_at, run.error = status, now, error
    run.lease_owner = run.lease_until = None
    run.duration_ms = max(0, int((now - run.started_at).total_seconds() * 1000))
    if note:
        run.log = [*run.log, note]
    if status == "skipped":  # conditions not met: in the run log, not worth an event
        return
    ctx.emit(c.WORKFLOW_RUN_FINISHED, {"id": run.id, "workflow_id": run.workflow_id, "status": status,
                                       "record_id": run.record_id})


def _step(ctx, run: WorkflowRun, index: int, **entry) -> None:
    action = run.definition["actions"][index]
    step = {"index": index, "action": action["type"], "at": clock.text_in(ctx.session), **entry}
    if not run.steps:  # a run's first step (most runs have one)
        run.steps = [step]
        return
    steps = [s for s in run.steps if s["index"] != index]
    steps.append(step)
    run.steps = sorted(steps, key=lambda s: s["index"])


def peek(ctx, run_id: str, owner: str) -> dict | None:
    """What the next step needs from outside before it is planned: the record again after a wait."""
    run = _held(ctx, run_id, owner)
    if run is None:
        return None
    return {"refresh": bool(run.context.get("recheck")) and run.resource in targets.RESOURCES and bool(run.record_id),
            "resource": run.resource, "record_id": run.record_id, "depth": run.depth}


def plan(ctx, run_id: str, owner: str, fresh: dict | None = None) -> dict | None:
    """The next remote action to perform (with what it needs), or None when the run stops here for now
    (finished, skipped, waiting, lost lease). Conditions and local actions are done here, in this transaction."""
    run = _held(ctx, run_id, owner)
    return None if run is None else advance(ctx, run, fresh)


def advance(ctx, run, fresh: dict | None = None) -> dict | None:
    """`plan` on a run in hand: a row of the table or a run the intake has not written yet (domain.engine's
    draft, the same attributes); what changes is the run's attributes, the caller writes them."""
    definition = run.definition
    while True:
        if run.conditions_met is None or run.context.get("recheck"):
            rechecking = bool(run.context.get("recheck"))
            context = dict(run.context, recheck=False)
            if fresh is not None:
                context["record"] = {**context.get("record", {}), **fresh}
            run.context = context
            met, results = conditions.evaluate(definition.get("conditions"), context)
            run.conditions, run.conditions_met = results, met
            if not met:
                why = "conditions no longer met after the wait" if rechecking else "conditions not met"
                _finish(ctx, run, "skipped", f"{why}: {conditions.why_not(results)}")
                return None
            run.log = [*run.log, "conditions met" + (" again after the wait" if rechecking else "")]
        index = run.next_step
        if index >= len(definition["actions"]):
            _finish(ctx, run, "succeeded", f"done: {len(definition['actions'])} action(s)")
            return None
        action = definition["actions"][index]
        if action["type"] == "wait":
            seconds = definition_wait(action)
            run.due_at, run.status, run.next_step = clock.after(seconds), "waiting", index + 1
            run.context = dict(run.context, recheck=True)
            run.lease_owner = run.lease_until = None
            _step(ctx, run, index, status="succeeded", outcome={"until": run.due_at.isoformat()}, error=None,
                  attempts=1, duration_ms=0)
            return None
        run.status = "running"
        if action["type"] in actions.LOCAL:
            started = time.monotonic()
            try:
                outcome = actions.perform_local(ctx, run, action)
            except (ServiceError, actions.ActionFailed, ValueError) as exc:
                fail(ctx, run, index, _describe(exc), started)
                return None
            _step(ctx, run, index, status="succeeded", outcome=outcome, error=None, attempts=run.attempts + 1,
                  duration_ms=int((time.monotonic() - started) * 1000))
            run.next_step, run.attempts = index + 1, 0
            continue
        extra = {}
        if action["type"] == "assign":
            chosen = run.context.get(f"assignee_{index}")
            if chosen is None:
                people = action.get("users") or notifications.users_in_team(ctx, action["team"])
                if not people:
                    fail(ctx, run, index, f"team {action['team']} has no active member to assign to", time.monotonic())
                    return None
                chosen = actions.next_in_turn(ctx.session, f"{run.workflow_id}:{index}", people)
                run.context = {**run.context, f"assignee_{index}": chosen}
            extra["assignee"] = chosen
        run.lease_until = clock.after(LEASE_SECONDS)
        return {"index": index, "action": action, "run_id": run.id, "workflow_id": run.workflow_id,
                "resource": run.resource, "record_id": run.record_id, "view": actions.view(run),
                "request_id": buses.request_id(run.depth + 1, run.id), **extra}


def definition_wait(action: dict) -> float:
    return definitions.wait_seconds(action)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        fields = getattr(exc, "errors", None)
        return f"{exc.code}: {exc.detail}" + (f" {fields}" if fields else "")
    return str(exc) or type(exc).__name__


def fail(ctx, run: WorkflowRun, index: int, error: str, started: float) -> None:
    attempts = run.attempts + 1
    delays = retry_delays()
    ms = int((time.monotonic() - started) * 1000)
    if attempts <= len(delays):
        run.attempts, run.status, run.due_at = attempts, "queued", clock.after(delays[attempts - 1])
        run.lease_owner = run.lease_until = None
        _step(ctx, run, index, status="retrying", outcome=None, error=error, attempts=attempts, duration_ms=ms)
        return
    run.attempts = attempts
    _step(ctx, run, index, status="failed", outcome=None, error=error, attempts=attempts, duration_ms=ms)
    _finish(ctx, run, "failed", f"step {index} ({run.definition['actions'][index]['type']}) failed {attempts} "
                                f"time(s): parked for replay", error=error)


def record(ctx, run_id: str, owner: str, planned: dict, outcome: dict | None, error: str | None, started: float) -> bool:
    """The outcome of a remote step; whether to go on with the next."""
    run = _held(ctx, run_id, owner)
    if run is None:
        return False
    index = planned["index"]
    if error is not None:
        fail(ctx, run, index, error, started)
        return False
    _step(ctx, run, index, status="succeeded", outcome=outcome, error=None, attempts=run.attempts + 1,
          duration_ms=int((time.monotonic() - started) * 1000))
    run.next_step, run.attempts = index + 1, 0
    if planned["action"]["type"] == "assign":
        field = planned["action"].get("field") or targets.owner_field(run.resource)
        run.context = {**run.context, "record": {**run.context.get("record", {}), field: planned["assignee"]}}
        notifications.notify(ctx, [planned["assignee"]], "assignment",
                             f"A {run.resource or 'record'} was assigned to you", run.definition.get("name"),
                             None, run.resource, run.record_id)
    return True


def execute(transact, bus, run_id: str, owner: str = WORKER) -> None:
    """Claim one run and take it as far as it goes now."""
    if not transact(claim, run_id, owner):
        return
    while True:
        peeked = transact(peek, run_id, owner)
        if peeked is None:
            return
        fresh = None
        if peeked["refresh"]:
            service, getter, _, _ = targets.RESOURCES[peeked["resource"]]
            try:
                fresh = bus.call(service, getter, None, record_id=peeked["record_id"],
                                 request=buses.request_id(peeked["depth"], run_id))
            except ServiceError as exc:
                log.warning("run %s: could not read %s %s again: %s", run_id, peeked["resource"],
                            peeked["record_id"], exc.code)
        planned = transact(plan, run_id, owner, fresh)
        if planned is None:
            return
        started = time.monotonic()
        outcome, error = None, None
        try:
            outcome = actions.perform(bus, planned["action"], planned)
        except (ServiceError, actions.ActionFailed, ValueError) as exc:
            error = _describe(exc)
        except Exception as exc:  # an unexpected failure of one action must not stop the worker
            log.exception("run %s: action %s failed", run_id, planned["action"]["type"])
            error = f"{type(exc).__name__}: {exc}"
        if not transact(record, run_id, owner, planned, outcome, error, started):
            return


def sweep(transact, bus, limit: int = SWEEP_BATCH) -> int:
    """Execute the runs that are due, one after the other; how many there were."""
    ids = transact(due_runs, limit)
    for run_id in ids:
        execute(transact, bus, run_id)
    return len(ids)
