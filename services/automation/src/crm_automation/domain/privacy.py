"""The automation part of privacy requests: what the workflows keep of a person.

Automation keeps copies of the records its events are about: the snapshots field-change triggers compare with
(every scalar field of the record: a lead's email and names), each run's context (the record, its previous
values), the conditions' results of runs and of the runs that ended at their intake (the compared values), the
run logs and steps (values rendered into them) and notifications (whose text may quote a record's name).

A person's records are those whose snapshot, run, ended runs or notification names the email (case-insensitive,
`crm_common.privacy.naming`); every row about those records (their id) is theirs too, as a later event about a
lead names no email. The person's values are the email and the name-, email-, phone- and address-like fields of
those records' copies.

Erasure: the snapshots are dropped (the next event about the record keeps a new one: its first change compares
with nothing seen, as a record's first event does: a "changed from X" trigger does not fire on it). Runs keep
their ids, workflow, statuses, times and steps' statuses; their context is cut to the record's id, and the
person's values are cut out of their conditions' results, log, steps and error (a run that did not fire still
says why, the value shown as `[erased]`). A run not finished yet is stopped (its actions would act on a record
it no longer has) and an erased run is never replayed (`runs.replay` refuses it). Ended rows keep their runs,
their results redacted likewise (a run that acted and ended at its intake is kept there with the record as it saw
it, and erased, exported and counted as a run of `workflow_runs`); notifications keep their user, kind, link and
state, their text redacted.
Export answers what is kept (at most EXPORT_LIMIT of each).
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_common.privacy import naming
from crm_automation import clock
from crm_automation.domain import ended as ended_
from crm_automation.models import EndedRuns, Notification, RecordSnapshot, WorkflowRun

EXPORT_LIMIT = 1000
BATCH = 200
ERASED = "[erased]"
ERASED_NOTE = "its record's personal data was erased by a privacy request"
ACTIVE = ("queued", "running", "waiting")
# the fields of a record that name or reach a person (their values are cut out of text that quotes them)
PERSONAL_FIELD = re.compile(r"mail|name|phone|mobile|fax|address|street|city|postal|zip|birth|linkedin|twitter")
_CONTEXT_RECORDS = ("record", "trigger_record", "previous")


def _chunks(values: list, size: int = BATCH):
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Found:
    """The person's rows in the service's tables, and the values to cut out of their text."""

    def __init__(self, session: Session, email: str):
        self.email = email
        named = [
            list(session.scalars(select(RecordSnapshot).where(naming(RecordSnapshot.data, [email])))),
            list(session.scalars(select(WorkflowRun).where(naming(WorkflowRun.context, [email])))),
            list(session.scalars(select(EndedRuns).where(naming(EndedRuns.runs, [email])))),
            list(session.scalars(select(Notification).where(
                naming(Notification.title, [email]) | naming(Notification.body, [email])))),
        ]
        self.record_ids = sorted({row.record_id for rows in named for row in rows if row.record_id})
        self.snapshots = self._with_records(session, RecordSnapshot, named[0], lambda r: (r.resource, r.record_id))
        self.runs = self._with_records(session, WorkflowRun, named[1], lambda r: r.id)
        self.ended = self._with_records(session, EndedRuns, named[2], lambda r: r.id)
        self.notifications = self._with_records(session, Notification, named[3], lambda r: r.id)
        self.values = self._values()
        # a whole value, not a part of a word ("Al" is cut, "validation" is not)
        self._pattern = re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in self.values), re.IGNORECASE)

    def _with_records(self, session: Session, model, named: list, key) -> list:
        found = {key(row): row for row in named}
        for chunk in _chunks(self.record_ids):
            for row in session.scalars(select(model).where(model.record_id.in_(chunk))):
                found.setdefault(key(row), row)
        return [found[k] for k in sorted(found)]

    def _values(self) -> list[str]:
        """The email and the personal fields' values of the records' copies, longest first."""
        values = {self.email.lower()}
        records = [row.data for row in self.snapshots]
        contexts = [run.context for run in self.runs]
        contexts += [entry[3].get("context") for row in self.ended for entry in row.runs if _acted(entry)]
        records += [context.get(part) for context in contexts for part in _CONTEXT_RECORDS
                    if isinstance(context, dict)]
        for record in records:
            for name, value in (record.items() if isinstance(record, dict) else ()):
                if isinstance(value, str) and len(value.strip()) >= 2 and PERSONAL_FIELD.search(name.lower()):
                    values.add(value.strip().lower())
        return sorted(values, key=len, reverse=True)

    def redact(self, value):
        """`value` (JSON-like) with every occurrence of the person's values in its text cut to `[erased]`."""
        if isinstance(value, str):
            return self._pattern.sub(ERASED, value) if self.values else value
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        return value

    def acted(self) -> list[WorkflowRun]:
        """The runs that acted and ended at their intake (entries of ended rows), as the run log reads them."""
        return [ended_.entry_run(row, place, entry) for row in self.ended
                for place, entry in enumerate(row.runs, 1) if _acted(entry)]

    def counts(self) -> dict:
        """Runs that acted are counted as runs, wherever their row (`workflow_runs`, or their event's row of
        ended runs); `ended_runs`: those that did not act."""
        acted = sum(1 for row in self.ended for entry in row.runs if _acted(entry))
        return {"record_snapshots": len(self.snapshots), "workflow_runs": len(self.runs) + acted,
                "ended_runs": sum(1 for row in self.ended for entry in row.runs if entry is not None) - acted,
                "notifications": len(self.notifications)}


def _acted(entry) -> bool:
    """Whether an ended row's entry is a run that acted (ended at its intake after acting)."""
    return entry is not None and len(entry) > 3


def _erased_context(context, record_id: str | None) -> dict:
    context = context if isinstance(context, dict) else {}
    record = {"id": record_id, "erased": True} if record_id else {"erased": True}
    kept = {key: value for key, value in context.items() if key in ("changed_fields", "event", "recheck")
            or key.startswith("assignee_")}  # field names, the event's ids and times, user ids
    return {**kept, "record": record, "trigger_record": record, "previous": {}, "erased": True}


def _redacted_results(found: Found, results) -> list:
    """Conditions' results with the compared values cut out (a record's value the person's or not: the
    record is theirs); each leaf still says which field, how and whether it held."""
    return [{**found.redact(r), "actual": ERASED if r.get("actual") not in (None, "", [], {}) else r.get("actual")}
            if isinstance(r, dict) else r for r in (results or [])]


def _erased_entry(found: Found, record_id: str | None, entry):
    """An ended row's entry with the person's values cut out; one that acted is erased as a row of `workflow_runs`
    is: its context cut to the record's id, its steps, log and error redacted, and its log says so."""
    if entry is None:
        return None
    kept = [entry[0], entry[1], _redacted_results(found, entry[2])]
    if _acted(entry):
        done = entry[3]
        cut = _erased_parts(found, record_id, done.get("context"), done.get("steps"), done.get("log"), done.get("error"))
        if done.get("error") is None:
            del cut["error"]
        kept.append({**done, **cut, "log": [*cut["log"], ERASED_NOTE]})
    return kept


def _erased_parts(found: Found, record_id: str | None, context, steps, log, error) -> dict:
    """What a run keeps of the person, cut (a `workflow_runs` row's and an acted entry's alike): its context cut to
    the record's id, its steps, log and error redacted."""
    return {"context": _erased_context(context, record_id), "steps": found.redact(steps or []),
            "log": found.redact(log or []), "error": found.redact(error)}


def erase(session: Session, email: str) -> dict:
    """Cut the person's data out of the service's tables; how many rows of each."""
    found = Found(session, email)
    counts = found.counts()
    for chunk in _chunks([(s.resource, s.record_id) for s in found.snapshots]):
        for resource, record_id in chunk:
            session.execute(delete(RecordSnapshot).where(RecordSnapshot.resource == resource,
                                                         RecordSnapshot.record_id == record_id))
    now = clock.now()
    for run in found.runs:
        for name, value in _erased_parts(found, run.record_id, run.context, run.steps, run.log, run.error).items():
            setattr(run, name, value)
        run.conditions = _redacted_results(found, run.conditions)
        if run.status in ACTIVE:  # its next actions would act on what it no longer keeps
            run.status, run.finished_at, run.lease_owner, run.lease_until = "stopped", now, None, None
            run.duration_ms = max(0, int((now - run.started_at).total_seconds() * 1000))
            run.log = [*run.log, "stopped: its record's personal data was erased by a privacy request"]
        else:
            run.log = [*run.log, ERASED_NOTE]
    for row in found.ended:
        row.runs = [_erased_entry(found, row.record_id, entry) for entry in row.runs]
    for note in found.notifications:
        note.title = found.redact(note.title)[:300]
        note.body = found.redact(note.body)
    session.flush()
    return counts


def _did_not_act(rows: list) -> list[tuple]:
    """The ended rows holding runs that did not act, each with those entries (the others are runs: `acted`)."""
    found = [(row, [e for e in row.runs if e is not None and not _acted(e)]) for row in rows]
    return [(row, entries) for row, entries in found if entries]


def export(session: Session, email: str) -> tuple[dict, dict]:
    """What the service keeps of the person (at most EXPORT_LIMIT of each) and the counts."""
    found = Found(session, email)
    runs = found.runs + found.acted()  # a run that acted is a run, wherever it is kept
    data = {
        "record_snapshots": [{"resource": s.resource, "record_id": s.record_id, "data": s.data}
                             for s in found.snapshots[:EXPORT_LIMIT]],
        "workflow_runs": [{"id": r.id, "workflow_id": r.workflow_id, "status": r.status, "resource": r.resource,
                           "record_id": r.record_id, "started_at": r.started_at.isoformat(),
                           "record": r.context.get("record") if isinstance(r.context, dict) else None,
                           "previous": r.context.get("previous") if isinstance(r.context, dict) else None,
                           "conditions": r.conditions, "steps": r.steps, "log": r.log}
                          for r in runs[:EXPORT_LIMIT]],
        "ended_runs": [{"id": row.id, "status": ended_.base_status(row.status), "resource": row.resource,
                        "record_id": row.record_id, "created_at": row.created_at.isoformat(),
                        "runs": [{"workflow_id": e[0], "version": e[1], "conditions": e[2]} for e in did_not_act]}
                       for row, did_not_act in _did_not_act(found.ended)[:EXPORT_LIMIT]],
        "notifications": [{"id": n.id, "user_id": n.user_id, "kind": n.kind, "title": n.title, "body": n.body,
                           "resource": n.resource, "record_id": n.record_id, "created_at": n.created_at.isoformat()}
                          for n in found.notifications[:EXPORT_LIMIT]],
    }
    return data, found.counts()
