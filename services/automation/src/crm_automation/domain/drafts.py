"""What the intake writes, gathered for the events of one transaction and written at its end: runs before they
are written (`Draft`), the records' snapshots (what "changed from" compares with), in a few statements per
transaction instead of several per event (the stream applies the events that waited together: crm_common.stream,
batch). Nothing here is read back by anyone before it is written, except through the `Batch` itself."""
from __future__ import annotations

import functools
import operator
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, MetaData, Table, bindparam, insert, select, update
from sqlalchemy.types import TypeDecorator

from crm_common import jsontext, outbox, scope
from crm_common.bulk import rows_insert
from crm_common.documents import JSONText
from crm_common.db import new_ordered_id
from crm_common.types import UTCDateTime
from crm_automation import clock
from crm_automation.domain import ended
from crm_automation.models import EndedRuns, RecordSnapshot, WorkflowRun

COLUMNS = tuple(c.name for c in WorkflowRun.__table__.columns)
JSON_COLUMNS = tuple(c.name for c in WorkflowRun.__table__.columns if isinstance(c.type, JSON))


_SCALAR = (str, int, float, bool, type(None))


def snapshot_fields(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "changed_fields" and isinstance(v, _SCALAR)}


class _Instant(TypeDecorator):
    """A timestamp column of the intake's inserts whose bind value is worked out once for a run of rows giving
    the same instant (the runs of an event share their `now` in four columns): the last datetime and what it
    became are kept. On PostgreSQL it becomes its ISO text (UTC, with its offset): psycopg2 adapts a datetime
    parameter again for every row and column giving it, at several times the cost of quoting a text, and the
    insert reads the text into the timestamptz column as the same instant. A time in UTC (the clock's) becomes that
    text from one `isoformat`, not through the type's conversions (and on SQLite its `%` formatting), where the
    text is the same (`_utc_text`, checked once); any other time goes through them."""

    impl = UTCDateTime
    cache_ok = True

    def bind_processor(self, dialect):
        inner = super().bind_processor(dialect)
        as_text = dialect.name == "postgresql"
        utc_text = _utc_text(dialect.name, inner, as_text)
        last: tuple = (None, None)  # replaced whole, never in part (other threads may be reading it)

        def process(value):
            nonlocal last
            seen = last
            if value is not None and value is seen[0]:  # the same object: kept alive by `last`, never reused
                return seen[1]
            if utc_text is not None and value is not None and value.tzinfo is timezone.utc:
                out = utc_text(value)
            else:
                out = inner(value) if inner is not None else value
                if as_text and out is not None:
                    out = out.isoformat()
            last = (value, out)
            return out
        return process


def _utc_text(dialect_name: str, inner, as_text: bool):
    """What a UTC time becomes from one `isoformat`, when that is what the type's processor (then `isoformat` on
    PostgreSQL) gives, checked on two instants (microseconds 0 and not); None elsewhere. SQLite: SQLAlchemy's
    storage format for DATETIME (`YYYY-MM-DD HH:MM:SS.ffffff`); PostgreSQL: the ISO text with its offset."""
    if dialect_name == "sqlite" and inner is not None:
        def made(t):
            return t.isoformat(" ", "microseconds")[:26]

        def typed(t):
            return inner(t)
    elif as_text:
        made = datetime.isoformat

        def typed(t):
            return (inner(t) if inner is not None else t).isoformat()
    else:
        return None
    instants = (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                datetime(999, 12, 31, 23, 59, 59, 123456, tzinfo=timezone.utc))
    return made if all(made(t) == typed(t) for t in instants) else None


_INSTANT = _Instant()  # one type object for every timestamp column: one processor, one memory of the last


@functools.lru_cache(maxsize=None)
def as_written(table: Table) -> Table:
    """`table` as the intake's inserts write it (`bulk.rows_insert`): its JSON columns given as text already
    serialized, its timestamps through `_Instant`."""
    return Table(table.name, MetaData(), *[_column(c) for c in table.columns])


def _column(column) -> Column:
    if isinstance(column.type, JSON):
        return Column(column.name, JSONText)
    if isinstance(column.type, UTCDateTime):
        return Column(column.name, _INSTANT)
    return Column(column.name, column.type)


@functools.lru_cache(maxsize=None)
def _statements(postgresql: bool) -> dict:
    """Built once per dialect (a statement built per call works out its cache key again each time). The runs'
    table as the intake writes it: its JSON columns given as text already serialized (the context the runs of one
    event share is serialized once, each definition once per generation), the values the JSON type would write."""
    snapshots = RecordSnapshot.__table__
    key = (snapshots.c.resource == bindparam("s_resource")) & (snapshots.c.record_id == bindparam("s_record"))
    return {"runs": insert(as_written(WorkflowRun.__table__)), "ended": insert(as_written(EndedRuns.__table__)),
            "snapshot_insert": insert(as_written(snapshots)),
            # a batch reads up to 200 records: on PostgreSQL one array each (scope.one_of)
            "snapshots": select(snapshots.c.resource, snapshots.c.record_id, snapshots.c.data).where(
                scope.one_of(snapshots.c.resource, postgresql, "resources"),
                scope.one_of(snapshots.c.record_id, postgresql, "records")),
            "snapshot": select(snapshots.c.resource, snapshots.c.record_id, snapshots.c.data).where(key),
            "snapshot_update": update(snapshots).where(key).values(data=bindparam("s_data"))}


def _sqlite_snapshots(conn, resources: list[str], records: list[str]) -> dict[tuple, dict | None]:
    """A batch's snapshots on SQLite, by the driver's own statement (one placeholder per value, records 500 a
    statement), their JSON read by `jsontext.loads` (the expanding INs of `_statements()["snapshots"]` are rendered
    and bound again at every execution, and the JSON type reads each row's text with json)."""
    head = (f"SELECT resource, record_id, data FROM {RecordSnapshot.__table__.name} "
            f"WHERE resource IN ({', '.join(['?'] * len(resources))}) AND record_id IN ")
    found = {}
    for start in range(0, len(records), 500):
        chunk = records[start:start + 500]
        for resource, record, data in conn.exec_driver_sql(f"{head}({', '.join(['?'] * len(chunk))})",
                                                           (*resources, *chunk)):
            found[(resource, record)] = jsontext.loads(data) if data is not None else None
    return found


_BLANK = dict.fromkeys(COLUMNS)
_VALUES = operator.attrgetter(*COLUMNS)  # a run's columns as a tuple, in the table's order, in one C call
_JSON_AT = tuple((i, name) for i, name in enumerate(COLUMNS) if name in JSON_COLUMNS)
_EMPTY_LIST = "[]"


class Draft:
    """A run before it is written: the columns of `workflow_runs` as attributes (the executor's steps work on
    it as on a row), written with the other runs of its transaction in one statement."""

    def __init__(self, workflow, **values):
        attributes = self.__dict__
        attributes.update(_BLANK)
        attributes.update(values)
        attributes["workflow"] = workflow  # engine.Active: its definition serialized once per generation

    @classmethod
    def new(cls, workflow, context: dict, event_id: str | None, trigger_type: str | None,
            resource: str | None, record_id: str | None, depth: int, now=None, id_: str | None = None) -> Draft:
        now = now or clock.now()
        run = cls.__new__(cls)
        run.__dict__ = {  # every column (as _BLANK has them) and the workflow, in one dict
            "id": id_ or new_ordered_id(), "created_at": now, "updated_at": now, "workflow_id": workflow.id,
            "workflow_version": workflow.version, "definition": workflow.definition, "trigger_event_id": event_id,
            "trigger_type": trigger_type, "resource": resource,
            "record_id": record_id if isinstance(record_id, str) else None, "context": context, "depth": depth,
            "status": "queued", "conditions": [], "conditions_met": None, "steps": [], "log": [], "next_step": 0,
            "attempts": 0, "error": None, "due_at": now, "lease_until": None, "lease_owner": None, "started_at": now,
            "finished_at": None, "duration_ms": None, "workflow": workflow}
        return run

    def values(self, serialized: dict[int, str]) -> list:
        """The run's columns in the table's order, its JSON ones serialized (`serialized`: the texts of contexts
        already done, by id; the definition as its workflow's compiled text while the run keeps it)."""
        values = list(_VALUES(self))
        for i, name in _JSON_AT:
            value = values[i]
            if name == "definition" and value is self.workflow.definition:
                values[i] = self.workflow.definition_json
            elif name == "context":
                text = serialized.get(id(value))
                if text is None:
                    text = serialized[id(value)] = jsontext.text(value)
                values[i] = text
            elif value == []:  # steps of a run that did not act, conditions of a workflow without any
                values[i] = _EMPTY_LIST
            else:
                values[i] = jsontext.text(value)  # None too: "null", as the JSON type writes it
        return values


class Trigger:
    """What the runs of one event share: their trigger and context, and the runs of it that ended at the intake,
    written together in one row (domain.ended; one more for each `ended.PER_ROW` runs beyond): those that did not
    act (`end`) and those that acted and ended there (`keep`). A run that acts has its place, and so its id, before
    it acts (`place`); if it does not end at the intake it is a row of `workflow_runs` and its place stays empty."""

    __slots__ = ("context", "event_id", "trigger_type", "resource", "record_id", "depth", "now", "ended", "status",
                 "held")

    def __init__(self, context: dict, event_id, trigger_type, resource, record_id, depth: int, now):
        self.context, self.event_id, self.trigger_type, self.resource = context, event_id, trigger_type, resource
        self.record_id = record_id if isinstance(record_id, str) else None
        self.depth, self.now, self.status, self.held = depth, now, None, False
        self.ended: list[tuple[str, list]] = []  # (row id, its runs: an entry each, None while a place is empty)

    def _place(self) -> tuple[str, list]:
        """A new place in the event's last row (a new row when it is full): the row's id and its runs, the place
        the last of them (empty: None)."""
        rows = self.ended
        if rows:
            row = rows[-1]
            if len(row[1]) < ended.PER_ROW:
                row[1].append(None)
                return row
        row = (ended.row_id(new_ordered_id()), [None])
        rows.append(row)
        return row

    def place(self) -> str:
        """The id of a run that is to act: its place in this event's row, empty until it ends here (`keep`)."""
        row_id, runs = self._place()
        return ended.run_id(row_id, len(runs))

    def end(self, workflow, status: str, results: list) -> Ended:
        """A run of this event that ended here without acting (skipped on its conditions, stopped by the loop
        guard)."""
        self.enter(workflow, status, results)
        row_id, runs = self.ended[-1]  # where `enter` put it: the last place of the last row
        return Ended(row_id, len(runs), workflow, status, results)

    def enter(self, workflow, status: str, results: list) -> None:
        """`end` without its `Ended` (the event stream's intake asks for no run): the run's entry in the event's
        row."""
        # the loop guard stops every run of an event, else its ended runs are skipped: one status for the event
        self.status, self.held = status, True
        self._place()[1][-1] = (workflow.id, workflow.version, results)

    def keep(self, run: Draft) -> bool:
        """A run that acted and ended here (succeeded: its actions all local) into its place; whether it was
        (a run that is not to be written as a row of `workflow_runs`)."""
        prefix = run.id[:-4]
        for row_id, runs in self.ended:
            if row_id[:-4] == prefix:
                runs[int(run.id[-4:], 16) - 1] = (run.workflow_id, run.workflow_version, run.conditions,
                                                 ended.acted(run))
                self.held = True
                return True
        return False

    def ended_rows(self) -> list[list]:
        return [ended.written(row_id, self.now, self.event_id, self.trigger_type, self.resource, self.record_id,
                              self.depth, self.status, runs) for row_id, runs in self.ended
                if runs.count(None) < len(runs)]


class Ended:
    """A run that ended at its intake without acting (what the caller reads of it: its id, workflow, status and
    conditions' results); written with the others of its event in one row (`Trigger.ended_rows`). Its id, its
    row's with its place, is written out when asked for."""

    __slots__ = ("row_id", "place", "workflow", "status", "conditions")

    def __init__(self, row_id: str, place: int, workflow, status: str, conditions: list):
        self.row_id, self.place, self.workflow = row_id, place, workflow
        self.status, self.conditions = status, conditions

    @property
    def id(self) -> str:
        return ended.run_id(self.row_id, self.place)


class Batch:
    """The intake's writes of one transaction: `previous()` gives a record's last values seen and keeps this
    event's (events of the same record in one batch see each other in order); `add()` takes runs; `write()`
    puts it all in (one insert of runs, one of new snapshots, one executemany of changed ones)."""

    def __init__(self, session):
        self.session = session
        self.runs: list[Draft] = []
        self.ended: list[Trigger] = []  # the events some of whose runs ended at the intake
        self._stored: dict[tuple, dict | None] = {}  # (resource, record id) -> the row as read (None: none)
        self._now: dict[tuple, dict] = {}  # -> the values kept after this batch's events

    def load(self, keys: set[tuple]) -> None:
        """Read the snapshots of these records at once (those not read yet)."""
        wanted = [k for k in keys if k not in self._stored]
        if not wanted:
            return
        conn = self.session.connection()
        statements = _statements(conn.dialect.name == "postgresql")
        if len(wanted) == 1:
            (resource, record), = wanted
            rows = conn.execute(statements["snapshot"], {"s_resource": resource, "s_record": record}).all()
            found = {(r.resource, r.record_id): r.data for r in rows}
        elif conn.dialect.name == "sqlite":
            found = _sqlite_snapshots(conn, sorted({k[0] for k in wanted}), sorted({k[1] for k in wanted}))
        else:
            rows = conn.execute(statements["snapshots"], {"resources": sorted({k[0] for k in wanted}),
                                                          "records": sorted({k[1] for k in wanted})}).all()
            found = {(r.resource, r.record_id): r.data for r in rows}
        for key in wanted:
            self._stored[key] = found.get(key)

    def previous(self, resource: str, data: dict) -> dict | None:
        """The record's last values seen (None: never seen); this event's values kept for the next."""
        key = (resource, data["id"])
        if key not in self._stored:  # not read with the batch's others (Batch.load)
            self.load({key})
        before = self._now.get(key, self._stored[key])
        self._now[key] = {**(before or {}), **snapshot_fields(data)}
        return dict(before) if before is not None else None

    def add(self, runs: list[Draft], trigger: Trigger | None = None) -> None:
        """Runs to write as rows of `workflow_runs`, and the event's row of runs ended at its intake if it holds
        any."""
        self.runs.extend(runs)
        if trigger is not None and trigger.held:
            self.ended.append(trigger)

    def write(self) -> None:
        """The batch's snapshots and runs: its new rows through `write_new` (with the outbox rows when the
        transaction said nothing reads them before its commit), the changed snapshots at once."""
        conn = self.session.connection()
        statements = _statements(conn.dialect.name == "postgresql")
        # a record first seen: its row in the table's column order, its JSON as text (as the runs' rows)
        fresh = [[k[0], k[1], jsontext.dumps(v)] for k, v in self._now.items() if self._stored[k] is None]
        changed = [{"s_resource": k[0], "s_record": k[1], "s_data": v} for k, v in self._now.items()
                   if self._stored[k] is not None and v != self._stored[k]]
        if fresh:
            write_new(self.session, statements["snapshot_insert"].table, fresh)
        if changed:
            conn.execute(statements["snapshot_update"], changed)
        if self.runs:
            serialized: dict[int, str] = {}  # the context objects the runs of an event share, serialized once
            write_new(self.session, statements["runs"].table, [run.values(serialized) for run in self.runs])
        if self.ended:
            rows = [row for trigger in self.ended for row in trigger.ended_rows()]
            write_new(self.session, statements["ended"].table, rows)
        self._stored.update(self._now)
        self._now, self.runs, self.ended = {}, [], []


_UNREAD = "automation_unread_before_commit"  # session.info: the transaction nothing reads the intake's rows in


def unread_before_commit(session) -> None:
    """Record that nothing in the session's transaction, now begun, reads the rows the intake writes (runs,
    snapshots, notifications) before it commits: `write_new` may then leave them to its outbox rows' round trip.
    Decided once, by the caller that knows what else the transaction runs (the event stream's batch:
    handlers.offer_to_workflows); it holds for this transaction only."""
    session.info[_UNREAD] = session.get_transaction()


def write_new(session, table: Table, rows: list[list]) -> None:
    """Insert `rows` (lists in `table`'s column order, as `as_written` declares it) now or, when the transaction
    said nothing reads them before its commit (`unread_before_commit`), on PostgreSQL with its outbox rows, in one
    round trip with them and the intake's other inserts (crm_common.outbox.insert_with_events): a batch's
    snapshots, runs, ended runs and notifications then cost the stream's transaction no round trip of their own."""
    unread = session.info.get(_UNREAD)
    if not (unread is not None and unread is session.get_transaction()
            and outbox.insert_with_events(session, table, *rows)):
        rows_insert(table, session.get_bind().dialect)(session.connection(), rows)
