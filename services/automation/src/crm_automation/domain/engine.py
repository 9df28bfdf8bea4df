"""Which workflows an event starts: the intake of the event stream (every published event, after its source
committed), in the same transaction as the inbox mark. A matching workflow gets a run row, queued; the
executor acts on it afterwards (domain.executor), so a rule never runs inside anyone's save. A run that ends at
once (skipped on its conditions, stopped by the loop guard, or succeeded after local actions only: a notification,
an approval asked) is an entry of its event's row (domain.ended); a run that goes on (a remote action, a wait, a
retry) is a row of `workflow_runs`, its id given before it acts either way.

Loop guard: an event caused by a workflow's action carries the chain depth in its request id (domain.bus);
past `LOOP_DEPTH` a matching workflow gets a run that stops at once and says so in its log.
"""
from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from crm_common import heap

from crm_automation import clock
from crm_automation.domain import bus, conditions, ended, executor, notifications
from crm_automation.domain.drafts import Batch, Draft, Trigger
from crm_automation.models import Workflow, WorkflowGeneration, WorkflowRun

LOOP_DEPTH = ended.LOOP_DEPTH
ENTITY_ACTIONS = ("create", "update")
GENERATION = "workflows"


@dataclass(frozen=True)
class Active:
    """An active workflow as the intake needs it, compiled once per generation of the definitions: what it
    listens to, its field-change trigger, and the definition a run keeps (the version that ran)."""

    id: str
    version: int
    name: str
    trigger: dict
    conditions: dict | None
    actions: list
    listens_to: str
    definition: dict = field(compare=False)
    definition_json: str = field(compare=False, default="")  # what each run row keeps, serialized once
    check: object = field(compare=False, default=None)  # conditions.compiled(conditions)

    @property
    def by_entity(self) -> bool:
        return self.listens_to.startswith("entity:")


class Watching:
    """The field-change workflows of one resource, indexed by the field they watch: an event is checked against
    those watching a field it carries (or changed), and those watching any change (`*`), not against all. The
    candidates of a set of field names are worked out once (the events of a stream change few such sets)."""

    MEMO = 1024  # sets of names remembered; beyond, worked out each time

    def __init__(self, workflows: list[Active]):
        self.by_field: dict[str, list[tuple[int, Active]]] = {}
        for position, workflow in enumerate(workflows):
            self.by_field.setdefault(workflow.trigger["field"], []).append((position, workflow))
        self._memo: dict[tuple, tuple[Active, ...]] = {}

    def candidates(self, action: str | None, data: dict) -> tuple[Active, ...]:
        """The workflows that may match (field_change_matches decides), in the order they were defined."""
        changed_ = data.get("changed_fields")
        names = changed_ if action == "update" and isinstance(changed_, list) else data
        try:
            key = tuple(names)
            found = self._memo.get(key)
        except TypeError:  # a changed field that is no name (a list, a dict): nothing to remember it by
            return self._candidates(names)
        if found is None:
            found = self._candidates(names)
            if len(self._memo) < self.MEMO:
                self._memo[key] = found
        return found

    def _candidates(self, given) -> tuple[Active, ...]:
        names = {n for n in given if isinstance(n, str) and n != "*"}
        found = list(self.by_field.get("*", ()))
        for name in names if len(names) < len(self.by_field) else list(self.by_field):
            if name in names:
                found.extend(self.by_field.get(name, ()))
        return tuple(workflow for _, workflow in sorted(found, key=lambda pair: pair[0]))


_cache: dict = {"token": None, "by_key": {}}


def changed(session) -> None:
    """A workflow definition changed (created, updated, deleted): a new generation token, in the same
    transaction, so every replica's intake reloads its compiled workflows at its next event."""
    token = str(uuid.uuid4())
    done = session.execute(update(WorkflowGeneration).where(WorkflowGeneration.key == GENERATION)
                           .values(token=token).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        session.execute(insert(WorkflowGeneration).values(key=GENERATION, token=token))


@functools.lru_cache(maxsize=None)
def _token_statement():
    generation = WorkflowGeneration.__table__
    return select(generation.c.token).where(generation.c.key == GENERATION)


def active(session) -> dict:
    """The active workflows by what they listen to (an event type: a list; `entity:<resource>`: `Watching`);
    one primary-key read per transaction of events tells whether any workflow changed since they were
    compiled (its generation token moved)."""
    token = session.connection().execute(_token_statement()).scalar()
    if token is None or token != _cache["token"]:
        by_key: dict = {}
        rows = session.execute(select(Workflow.id, Workflow.version, Workflow.name, Workflow.trigger,
                                      Workflow.conditions, Workflow.actions, Workflow.listens_to)
                               .where(Workflow.active.is_(True), Workflow.deleted_at.is_(None)))
        for w in rows:
            definition = {"name": w.name, "trigger": w.trigger, "conditions": w.conditions, "actions": w.actions}
            by_key.setdefault(w.listens_to, []).append(
                Active(w.id, w.version, w.name, w.trigger, w.conditions, w.actions, w.listens_to, definition,
                       json.dumps(definition), conditions.compiled(w.conditions)))
        by_key = {key: Watching(found) if key.startswith("entity:") else found for key, found in by_key.items()}
        _cache.update(token=token, by_key=by_key)
    return _cache["by_key"]


def field_change_matches(trigger: dict, action: str | None, data: dict, previous: dict | None) -> bool:
    field_ = trigger["field"]
    if field_ == "*":  # any change of the record
        return action in ENTITY_ACTIONS
    if action == "update":
        changed_ = data.get("changed_fields")
        if isinstance(changed_, list) and field_ not in changed_:
            return False
        if not isinstance(changed_, list) and previous is not None and previous.get(field_) == data.get(field_):
            return False
    elif action != "create":
        return False
    if field_ not in data:
        return False
    if "to" in trigger and data.get(field_) != trigger["to"]:
        return False
    if "from" in trigger:
        before = None if action == "create" else (previous or {}).get(field_)
        if before != trigger["from"]:
            return False
    return True


def on_event(ctx, envelope: dict) -> list[str]:
    """`on_events` of one event."""
    return on_events(ctx, [envelope])


def on_events(ctx, envelopes: list[dict]) -> list[str]:
    """Runs for the workflows these events start (their ids), in order, taken as far as they go in this
    transaction; the records' snapshots kept for field changes. The runs, snapshots and notifications of the
    events are written together at the end (drafts.Batch, notifications.gathered); an event no workflow
    listens to writes nothing."""
    runs: list = []
    take(ctx, envelopes, runs)
    return [run.id for run in runs]


def take(ctx, envelopes: list[dict], runs: list | None = None) -> None:
    """`on_events` without the ids: the event stream's intake, which does not ask for them. `runs`, when given,
    gets the runs themselves (`Draft` or `Ended`, in order); without it a run that ended at once is only its
    entry in its event's row (no object is made for it). Its rows go in through `drafts.write_new`: with the
    outbox rows when the transaction said nothing reads them before its commit (drafts.unread_before_commit)."""
    with heap.paused():  # the batch's runs, rows and texts are freed by reference counting at its end
        compiled = active(ctx.session)
        batch = Batch(ctx.session)
        watching = [_watching(compiled, e) for e in envelopes]  # the field-change workflows of its record's kind
        watched = [(e.get("entity"), e["data"]["id"]) for e, found in zip(envelopes, watching) if found is not None]
        if len(watched) > 1:
            batch.load(set(watched))
        uow = ctx.uow
        with notifications.gathered(ctx.session), clock.held(ctx.session) as now:
            for envelope, found in zip(envelopes, watching):
                if uow is not None:  # what its runs emit carries the event's request id, as its handlers' do
                    uow.request_id = envelope.get("request_id")
                _intake(ctx, compiled, batch, envelope, found, runs, now)
            batch.write()


def _watching(compiled: dict, envelope: dict) -> Watching | None:
    """The field-change workflows watching this event's record (its snapshot is read and kept), if any."""
    data = envelope.get("data")
    if (envelope.get("producer") != "automation" and isinstance(data, dict) and envelope.get("entity")
            and envelope.get("action") in ENTITY_ACTIONS and isinstance(data.get("id"), str)):
        return compiled.get(f"entity:{envelope['entity']}")
    return None


def _intake(ctx, compiled: dict, batch: Batch, envelope: dict, watching: Watching | None,
            runs: list | None, now) -> None:
    """The runs one event starts, their conditions evaluated and their local actions done (`watching`: what
    `_watching` says of it; `runs`: as in `take`; `now`: the time of the batch's runs, steps and notifications)."""
    type_, entity, action = envelope.get("type"), envelope.get("entity"), envelope.get("action")
    if envelope.get("producer") == "automation":  # its own notifications and run outcomes start nothing
        return
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    workflows = list(compiled.get(type_, ()))
    if not workflows and watching is None:
        return
    previous = batch.previous(entity, data) if watching is not None else None
    if watching is not None:
        workflows += [w for w in watching.candidates(action, data)
                      if field_change_matches(w.trigger, action, data, previous)]
    if not workflows:
        return
    depth = bus.depth_of(envelope.get("request_id"))
    record = {**previous, **data} if previous else dict(data)
    event = {"id": envelope.get("event_id"), "type": type_, "entity": entity, "action": action,
             "occurred_at": envelope.get("occurred_at"), "actor": envelope.get("actor")}
    # one context for the runs of this event (a run that changes its context gets a copy: domain.executor)
    context = {"record": record, "trigger_record": record, "previous": previous or {},
               "changed_fields": data.get("changed_fields") or [], "event": event}
    trigger = Trigger(context, envelope.get("event_id"), type_, entity, data.get("id"), depth, now)
    end = trigger.end if runs is not None else trigger.enter  # an `Ended` made only for a caller that wants it
    acting: list[Draft] = []
    for workflow in workflows:
        if depth > LOOP_DEPTH:  # the log says why (domain.ended.note)
            run = end(workflow, ended.STOPPED, [])
        else:
            met, results = workflow.check(context)  # the conditions at once: a run whose conditions fail is skipped
            if met:  # its id before it acts: its event and `{{ run.id }}` carry it
                run = Draft.new(workflow, context, trigger.event_id, type_, entity, trigger.record_id, depth,
                                trigger.now, trigger.place())
                run.conditions, run.conditions_met, run.log = results, met, ["conditions met"]
                acting.append(run)
            else:
                run = end(workflow, ended.SKIPPED, results)
        if runs is not None:
            runs.append(run)
    rows: list[Draft] = []  # the runs that go on after the intake: rows of workflow_runs for the executor
    for run in acting:  # in order, once every run of the event has its place
        run_inline(ctx, run)
        # a run that acted and ended here is kept in its event's row of ended runs, as the skipped ones
        if run.status != "succeeded" or not trigger.keep(run):
            rows.append(run)
    batch.add(rows, trigger)


def run_inline(ctx, run: Draft) -> None:
    """What a run can do inside the consumer's transaction, at once: its conditions and its local actions
    (notify, start an approval) up to the first remote action or wait. A run that needs nothing else ends here;
    the others stay queued for the executor (no remote call is ever made inside this transaction). It holds no
    lease meanwhile: it is not written before this transaction ends, and whatever it ends as (a remote action next,
    a wait, a retry, parked, done) leaves it without one."""
    if executor.advance(ctx, run) is not None:  # a remote action is next: the executor's
        run.status, run.lease_owner, run.lease_until = "queued", None, None


def new_run(workflow, context: dict, event_id: str | None, trigger_type: str | None,
            resource: str | None, record_id: str | None, depth: int) -> WorkflowRun:
    now = clock.now()
    return WorkflowRun(workflow_id=workflow.id, workflow_version=workflow.version,
                       definition={"name": workflow.name, "trigger": workflow.trigger,
                                   "conditions": workflow.conditions, "actions": workflow.actions},
                       trigger_event_id=event_id, trigger_type=trigger_type, resource=resource,
                       record_id=record_id if isinstance(record_id, str) else None, context=context, depth=depth,
                       status="queued", conditions=[], steps=[], log=[], next_step=0, attempts=0,
                       due_at=now, started_at=now)


def fire_schedules(ctx, limit: int = 100) -> int:
    """Scheduled workflows whose time came: one run each (once per fire time), and their next time set."""
    from crm_automation.domain import schedule
    now = clock.now()
    due = ctx.session.scalars(select(Workflow).where(Workflow.active.is_(True), Workflow.deleted_at.is_(None),
                                                     Workflow.listens_to == "schedule",
                                                     Workflow.next_fire_at <= now).limit(limit)).all()
    for workflow in due:
        fired = workflow.next_fire_at
        context = {"record": {}, "trigger_record": {}, "previous": {}, "changed_fields": [],
                   "event": {"id": None, "type": "schedule", "occurred_at": fired.isoformat()}}
        ctx.session.add(new_run(workflow, context, f"schedule:{fired.isoformat()}", "schedule", None, None, 0))
        workflow.next_fire_at = schedule.next_fire(workflow.trigger["cron"], workflow.trigger.get("timezone"), now)
    ctx.session.flush()
    return len(due)
