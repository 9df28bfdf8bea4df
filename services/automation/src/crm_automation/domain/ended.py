"""Runs that ended at their intake: skipped on their conditions, stopped by the loop guard, or succeeded there
(their actions all local: a notification, an approval asked).

Most runs of a busy event stream are these (an event matches several workflows; most skip, the rest mostly
notify), and none of them is ever executed, replayed or changed: the intake writes the runs of one event that
ended so in one row (`EndedRuns`: the trigger once, then each run's workflow, version and conditions' results;
a run that acted has its outcome too: `acted`), and the run log reads each back as the run it is, the same as a
row of `workflow_runs` (a skipped run's log, times and empty steps follow from the row). A run's id is its row's
with the run's place (from 1) in the last four hex digits, given before the run acts (its event and `{{ run.id
}}` carry it): a run is found by its id with one primary-key read. A run of the event that did not end at its
intake (a remote action, a wait, a retry) is a row of `workflow_runs` with the id of its place, which the row
leaves empty (null). The runs written before this table existed stay in `workflow_runs`.

The row's `status` says which outcomes it holds (the run log's filter): `skipped`, `stopped` (the loop guard stops
every run of an event), `succeeded`, or `skipped succeeded`; a run's own outcome is its entry's (`acted`), else
the row's skipped or stopped.
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Text, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from crm_common import jsontext
from crm_automation.domain import conditions as conditions_
from crm_automation.models import EndedRuns, WorkflowRun

SKIPPED, STOPPED, SUCCEEDED = "skipped", "stopped", "succeeded"
STATUSES = (SKIPPED, STOPPED, SUCCEEDED)
# a row's status (the outcomes it holds, sorted) -> the rows a filter by one outcome reads
_ROW_STATUSES = (SKIPPED, STOPPED, SUCCEEDED, f"{SKIPPED} {SUCCEEDED}")
ROWS_WITH = {status: tuple(s for s in _ROW_STATUSES if status in s.split()) for status in STATUSES}
LOOP_DEPTH = 5
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MICROSECOND = timedelta(microseconds=1)
PER_ROW = 0xFFFF  # runs in one row (the places four hex digits hold); an event that ends more takes more rows


def run_id(row_id: str, place: int) -> str:
    """The id of the run at `place` (from 1) of the row `row_id` (whose last four digits are 0000)."""
    if not 1 <= place <= PER_ROW:
        raise ValueError(f"a row holds at most {PER_ROW} runs")
    return f"{row_id[:-4]}{place:04x}"


def row_id(new_id: str) -> str:
    """A row's id from a fresh time-ordered id: its last four digits 0000, the places of its runs."""
    return f"{new_id[:-4]}0000"


def note(status: str, depth: int, results: list[dict]) -> str:
    """The run's log line: why it did not act."""
    if status == STOPPED:
        return (f"loop guard: this event comes from a chain of {depth} workflow changes (more than {LOOP_DEPTH}); "
                f"the workflow did not run again")
    return f"conditions not met: {conditions_.why_not(results)}"


def acted(run) -> dict:
    """What an entry keeps of a run that acted and ended at its intake (a draft, domain.drafts), beyond its
    workflow, version and conditions' results: its outcome, steps, log, end and the record as the run saw it with
    its previous values (what a privacy request finds, exports and cuts, as in a row of `workflow_runs`). Not the
    rest of its context: the event's ids are the row's, and a run that ended is never executed or replayed; the
    record it was triggered with only when it is not the record itself (`context`, read back)."""
    context = run.context
    record = context.get("record")
    kept = {"record": record, "previous": context.get("previous")}
    if context.get("trigger_record") is not record:
        kept["trigger_record"] = context.get("trigger_record")
    entry = {"status": run.status, "steps": run.steps, "log": run.log,
             "finished_us": (run.finished_at - run.created_at) // _MICROSECOND, "duration_ms": run.duration_ms,
             "context": kept}
    if run.error is not None:
        entry["error"] = run.error
    return entry


def acted_context(kept) -> dict:
    """An acted entry's context as a run's: the record it was triggered with is the record unless kept apart."""
    if not isinstance(kept, dict):
        return {}
    return kept if "trigger_record" in kept else {**kept, "trigger_record": kept.get("record")}


def base_status(row_status: str) -> str:
    """The outcome of a row's entries that did not act."""
    return STOPPED if row_status == STOPPED else SKIPPED


def written(row_id_: str, created_at, trigger_event_id, trigger_type, resource, record_id, depth: int, status: str,
            runs: list) -> list:
    """The row of an event's ended runs (`runs`: (workflow id, version, conditions' results[, acted]) each, or
    None for a place whose run is a row of `workflow_runs`, in order; `status`: that of those that did not act)
    as a list in the table's column order, its JSON given as text (drafts' insert)."""
    held = [r for r in runs if r is not None]
    outcomes = {r[3]["status"] if len(r) > 3 else status for r in held}
    statuses = status if len(outcomes) == 1 and status in outcomes else " ".join(sorted(outcomes))
    return [row_id_, created_at, trigger_event_id, trigger_type, resource, record_id, depth, statuses,
            f" {' '.join([r[0] for r in held])} ", jsontext.text(runs)]


def entry_run(row, place: int, entry: list) -> WorkflowRun:
    """The entry at `place` of the row as a run of the run log (not in any session: read only)."""
    at = row.created_at
    workflow_id, version, results = entry[0], entry[1], entry[2]
    common = dict(id=run_id(row.id, place), workflow_id=workflow_id, workflow_version=version, definition=None,
                  trigger_event_id=row.trigger_event_id, trigger_type=row.trigger_type, resource=row.resource,
                  record_id=row.record_id, depth=row.depth, conditions=results, next_step=0, attempts=0, due_at=at,
                  lease_until=None, lease_owner=None, started_at=at, created_at=at)
    if len(entry) > 3:  # it acted
        done = entry[3]
        finished = at + timedelta(microseconds=done["finished_us"])
        return WorkflowRun(**common, context=acted_context(done.get("context")), status=done["status"], conditions_met=True,
                           steps=done["steps"], log=done["log"], error=done.get("error"), finished_at=finished,
                           duration_ms=done["duration_ms"], updated_at=finished)
    status = base_status(row.status)
    return WorkflowRun(**common, context={}, status=status, conditions_met=False if status == SKIPPED else None,
                       steps=[], log=[note(status, row.depth, results)], error=None, finished_at=at, duration_ms=0,
                       updated_at=at)


def runs_of(row) -> list[WorkflowRun]:
    """The row's runs as runs of the run log, in order (its empty places left out)."""
    return [entry_run(row, place, entry) for place, entry in enumerate(row.runs, 1) if entry is not None]


def get(session, id_: str) -> WorkflowRun | None:
    """The ended run of this id, or None."""
    if not isinstance(id_, str) or not _ID.fullmatch(id_) or id_.endswith("0000"):
        return None
    row = session.get(EndedRuns, row_id(id_))
    if row is None:
        return None
    place = int(id_[-4:], 16)
    entry = row.runs[place - 1] if place <= len(row.runs) else None
    return entry_run(row, place, entry) if entry is not None else None


def _of_workflow(session, workflow_id: str):
    """The rows holding a run of this workflow: on PostgreSQL `@>` over the ids as an array, the expression of the
    GIN index `ix_runs_ended_workflows` (models); elsewhere the text's " <id> " (a scan of the rows)."""
    column = EndedRuns.__table__.c.workflow_ids
    if session.get_bind().dialect.name == "postgresql":
        ids = func.string_to_array(func.btrim(column), literal_column("' '"))
        return ids.op("@>")(cast(literal([workflow_id], ARRAY(Text)), ARRAY(Text)))
    return column.contains(f" {workflow_id} ", autoescape=True)


def page(session, query: dict, workflow_id: str | None, after, descending: bool, wanted: int) -> list[WorkflowRun]:
    """The first `wanted` ended runs (fewer if there are no more) in the run log's order, after the cursor's
    (created_at, id) if any, filtered as the run log is (workflow, status, record)."""
    status, record = query.get("status"), query.get("record_id")
    if status and status not in STATUSES:
        return []
    table = EndedRuns.__table__
    statement = select(table)
    if status:
        statement = statement.where(table.c.status.in_(ROWS_WITH[status]))
    if record:
        statement = statement.where(table.c.record_id == record)
    if workflow_id:
        statement = statement.where(_of_workflow(session, workflow_id))
    if after is not None:  # the cursor's instant and later (or earlier): the runs after its id are kept below
        statement = statement.where(table.c.created_at <= after[0] if descending else table.c.created_at >= after[0])
    order = (table.c.created_at.desc(), table.c.id.desc()) if descending else (table.c.created_at, table.c.id)
    statement = statement.order_by(*order)
    found: list[WorkflowRun] = []
    last = None
    while len(found) < wanted:
        chunk = statement
        if last is not None:  # the rows after the last read (keyset)
            earlier = or_(table.c.created_at < last.created_at,
                          and_(table.c.created_at == last.created_at, table.c.id < last.id))
            later = or_(table.c.created_at > last.created_at,
                        and_(table.c.created_at == last.created_at, table.c.id > last.id))
            chunk = chunk.where(earlier if descending else later)
        rows = session.execute(chunk.limit(wanted)).all()
        for row in rows:
            runs = runs_of(row)
            if descending:
                runs.reverse()
            for run in runs:
                if (workflow_id and run.workflow_id != workflow_id) or (status and run.status != status):
                    continue
                if after is not None and ((run.created_at, run.id) >= after if descending else
                                          (run.created_at, run.id) <= after):
                    continue
                found.append(run)
        if len(rows) < wanted:
            break
        last = rows[-1]
    return found
