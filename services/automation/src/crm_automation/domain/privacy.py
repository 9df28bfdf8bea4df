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
their results redacted likewise; notifications keep their user, kind, link and state, their text redacted.
Export answers what is kept (at most EXPORT_LIMIT of each).
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_common.privacy import naming
from crm_automation import clock
from crm_automation.models import EndedRuns, Notification, RecordSnapshot, WorkflowRun

EXPORT_LIMIT = 1000
BATCH = 200
ERASED = "[erased]"
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
        records += [run.context.get(part) for run in self.runs for part in _CONTEXT_RECORDS
                    if isinstance(run.context, dict)]
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

    def counts(self) -> dict:
        return {"record_snapshots": len(self.snapshots), "workflow_runs": len(self.runs),
                "ended_runs": sum(len(row.runs) for row in self.ended), "notifications": len(self.notifications)}


def _erased_context(run: WorkflowRun) -> dict:
    context = run.context if isinstance(run.context, dict) else {}
    record = {"id": run.record_id, "erased": True} if run.record_id else {"erased": True}
    kept = {key: value for key, value in context.items() if key in ("changed_fields", "event", "recheck")
            or key.startswith("assignee_")}  # field names, the event's ids and times, user ids
    return {**kept, "record": record, "trigger_record": record, "previous": {}, "erased": True}


def _redacted_results(found: Found, results) -> list:
    """Conditions' results with the compared values cut out (a record's value the person's or not: the
    record is theirs); each leaf still says which field, how and whether it held."""
    return [{**found.redact(r), "actual": ERASED if r.get("actual") not in (None, "", [], {}) else r.get("actual")}
            if isinstance(r, dict) else r for r in (results or [])]


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
        run.context = _erased_context(run)
        run.conditions = _redacted_results(found, run.conditions)
        run.steps = found.redact(run.steps or [])
        run.log = found.redact(run.log or [])
        run.error = found.redact(run.error)
        if run.status in ACTIVE:  # its next actions would act on what it no longer keeps
            run.status, run.finished_at, run.lease_owner, run.lease_until = "stopped", now, None, None
            run.duration_ms = max(0, int((now - run.started_at).total_seconds() * 1000))
            run.log = [*run.log, "stopped: its record's personal data was erased by a privacy request"]
        else:
            run.log = [*run.log, "its record's personal data was erased by a privacy request"]
    for row in found.ended:
        row.runs = [[workflow_id, version, _redacted_results(found, results)]
                    for workflow_id, version, results in row.runs]
    for note in found.notifications:
        note.title = found.redact(note.title)[:300]
        note.body = found.redact(note.body)
    session.flush()
    return counts


def export(session: Session, email: str) -> tuple[dict, dict]:
    """What the service keeps of the person (at most EXPORT_LIMIT of each) and the counts."""
    found = Found(session, email)
    data = {
        "record_snapshots": [{"resource": s.resource, "record_id": s.record_id, "data": s.data}
                             for s in found.snapshots[:EXPORT_LIMIT]],
        "workflow_runs": [{"id": r.id, "workflow_id": r.workflow_id, "status": r.status, "resource": r.resource,
                           "record_id": r.record_id, "started_at": r.started_at.isoformat(),
                           "record": r.context.get("record") if isinstance(r.context, dict) else None,
                           "previous": r.context.get("previous") if isinstance(r.context, dict) else None,
                           "conditions": r.conditions, "steps": r.steps, "log": r.log}
                          for r in found.runs[:EXPORT_LIMIT]],
        "ended_runs": [{"id": row.id, "status": row.status, "resource": row.resource, "record_id": row.record_id,
                        "created_at": row.created_at.isoformat(),
                        "runs": [{"workflow_id": w, "version": v, "conditions": res} for w, v, res in row.runs]}
                       for row in found.ended[:EXPORT_LIMIT]],
        "notifications": [{"id": n.id, "user_id": n.user_id, "kind": n.kind, "title": n.title, "body": n.body,
                           "resource": n.resource, "record_id": n.record_id, "created_at": n.created_at.isoformat()}
                          for n in found.notifications[:EXPORT_LIMIT]],
    }
    return data, found.counts()
