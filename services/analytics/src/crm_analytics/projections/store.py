"""The read models of one generation as a unit of work for a batch of events.

The projections read and change rows here, in memory; the rows a batch needs are read up front with one
query per table (`load`, `load_by`), those its creation events make taken as absent unread (`assume_absent`,
PostgreSQL), a row not read up front is read when first asked for, and `flush` writes what changed back
(projections/store_writes.py): per table the rows absent with one COPY (PostgreSQL; those taken as absent first, in
a savepoint that checks them), the others with one bulk upsert (INSERT ... ON CONFLICT DO UPDATE), one DELETE;
counters added unread (`count`); the stage history's inserts and updates. One event or two thousand cost about the same number of statements.
Only one batch projects into a generation at a time (the state row's lock, domain/log.py), so what a batch
read stays true until it writes.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from crm_common.scope import one_of

from crm_analytics.projections import stage_times
from crm_analytics.projections.store_writes import CHUNK, StoreWrites
from crm_analytics.projections.table_rows import key_from, key_names, key_of


class Store(StoreWrites):
    def __init__(self, conn, t, guarded: bool = False, memo: dict | None = None):
        self.guarded = guarded  # the caller writes in a savepoint of its own (`_assumed_write` opens none)
        self._memo = {} if memo is None else memo  # the COPY text of the batch's values (bulk.prepare): its times
        session = hasattr(conn, "get_bind")  # a Session (the live stream) or a Connection (a rebuild)
        self.dialect = conn.get_bind().dialect if session else conn.dialect
        self.conn, self.t = conn.connection() if session else conn, t  # Core statements: not the ORM's path
        self._rows: dict[str, dict] = {}  # table name -> {key tuple: row dict, or None when absent}
        self._dirty: dict[str, set] = {}
        self._found: set = set()  # (table name, column, value) whose rows are read
        self._history_new: list[dict] = []
        self._history_open: dict[str, list[dict]] = {}  # opportunity id -> its open stage rows
        self._history_closed: list[dict] = []  # stored stage rows closed: {seq, left_at}
        self._stays: list = []  # the stays of the stage rows closed (projections/stage_times.py)
        self._before: dict = {}  # opportunity key -> its row as read (None: absent), for the sums (projections/sums.py)
        self._tickets_before: dict = {}  # the same of tickets, for their pre-counted figures (ticket_sums.py)
        self._absent: set = set()  # (table name, key) read absent and not written since: a plain insert makes them
        self._assumed: dict = {}  # table name -> [key taken as absent unread (`assume_absent`)], checked at flush
        self._copied: dict = {}  # table name -> {key written by that check}
        self._counts: dict[str, dict] = {}  # counter model -> {key tuple: key and the counts to add}
        self._queued: list = []  # PostgreSQL: (statement, parameters) sent together at the end of `flush`

    @contextmanager
    def detached(self):
        """No connection for the block (another statement holds it: `project_beside`): a row not read up front
        raises `Detached` instead of being read."""
        conn, self.conn = self.conn, _DETACHED
        try:
            yield
        finally:
            self.conn = conn

    # reading -------------------------------------------------------------------------------------------------
    def _table(self, name):
        return getattr(self.t, name)

    @staticmethod
    def _key(table, row) -> tuple:
        return key_of(table, row)

    def load(self, name: str, ids) -> None:
        """Read the rows of `ids` (first primary-key column) of model `name`; those absent are known absent."""
        table, cache = self._table(name), self._rows.setdefault(name, {})
        single = len(table.primary_key.columns) == 1
        wanted = sorted({str(i) for i in ids if i} - ({k[0] for k in cache} if single else set()))
        first = list(table.primary_key.columns)[0]
        statement = self._among(table, first.name)
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i:i + CHUNK]
            for row in self.conn.execute(statement, {"values": part}).mappings():
                self._read(name, self._key(table, row), dict(row))
            if single:
                for id_ in part:
                    self._read(name, (id_,), None)

    def assume_absent(self, name: str, ids) -> None:
        """Take the rows of `ids` of model `name` (one-column key) as absent without reading them: the records a
        batch's creation events make (PostgreSQL only). `flush` first inserts them with one COPY in a savepoint:
        a row there already (an event redelivered, or come after a later one) fails it, and it raises `Conflict`
        having written nothing, for the batch to be projected again reading them (`project_many`). A new deal has
        no open stage rows to read (a deleted deal's, under the same id, are left as they were)."""
        cache, assumed = self._rows.setdefault(name, {}), self._assumed.setdefault(name, [])
        before = self._before if name == "opportunities" else self._tickets_before if name == "tickets" else None
        for id_ in {str(i) for i in ids if i}:
            k = (id_,)
            if k not in cache:
                cache[k] = None  # as `_read` of an absent row, but not counted read absent: the COPY checks it
                assumed.append(k)
                if before is not None:
                    before[k] = None
                if name == "opportunities":
                    self._history_open.setdefault(id_, [])

    def load_by(self, name: str, column: str, values) -> None:
        """Read the rows of model `name` whose `column` is one of `values` (for `find`)."""
        table = self._table(name)
        self._rows.setdefault(name, {})
        wanted = sorted({str(v) for v in values if v} - {v for (n, c, v) in self._found if n == name and c == column})
        statement = self._among(table, column)
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i:i + CHUNK]
            for row in self.conn.execute(statement, {"values": part}).mappings():
                self._read(name, self._key(table, row), dict(row))
            self._found.update((name, column, v) for v in part)

    def load_history(self, opportunity_ids) -> None:
        """Read the open stage rows of these opportunities."""
        h = self.t.stage_history
        wanted = sorted({str(i) for i in opportunity_ids if i} - set(self._history_open))
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i:i + CHUNK]
            for id_ in part:
                self._history_open[id_] = []
            for row in self.conn.execute(self._among(h, "opportunity_id", True), {"values": part}).mappings():
                self._history_open[row["opportunity_id"]].append(dict(row))

    def _among(self, table, column: str, open_stages: bool = False):
        """The rows of `table` whose `column` is one of the parameter `values` (`open_stages`: the stage history's
        open rows, in order), made once (`crm_common.scope.one_of`: on PostgreSQL one array parameter)."""
        key = (table.name, column, open_stages, self.dialect.name)
        if key not in _AMONG:
            statement = select(table).where(one_of(table.c[column], self.dialect.name == "postgresql", "values"))
            _AMONG[key] = statement.where(table.c.left_at.is_(None)).order_by(table.c.seq) if open_stages else statement
        return _AMONG[key]

    def _model_key(self, name: str, values: dict) -> tuple:
        """key_of a row (or a key's dict) of model `name`, its key's names kept by the model's name (the same in
        both generations)."""
        names = _KEY_NAMES.get(name)
        if names is None:
            names = _KEY_NAMES[name] = key_names(self._table(name))
        return key_from(names, values)

    def get(self, name: str, key: dict) -> dict | None:
        """The row of `key` as the batch left it so far (None: absent). Change it with `put`."""
        k = self._model_key(name, key)
        cache = self._rows.get(name)
        found = cache.get(k, _UNREAD) if cache is not None else _UNREAD
        if found is _UNREAD:
            table = getattr(self.t, name)
            row = self.conn.execute(select(table).where(*[table.c[c] == v for c, v in key.items()])).mappings().first()
            self._read(name, k, dict(row) if row is not None else None)
            found = self._rows[name][k]
        return found

    def _read(self, name: str, k: tuple, row: dict | None) -> None:
        """A row as the database holds it (None: absent), unless the batch has it already."""
        cache = self._rows.setdefault(name, {})
        if k in cache:
            return
        cache[k] = row
        if row is None:
            self._absent.add((name, k))
        if name == "opportunities":
            self._before[k] = dict(row) if row is not None else None
        elif name == "tickets":
            self._tickets_before[k] = dict(row) if row is not None else None

    def find(self, name: str, column: str, value) -> list[dict]:
        """The rows of model `name` whose `column` is `value`, as the batch left them."""
        if (name, column, value) not in self._found:
            self.load_by(name, column, [value])
        return [row for row in self._rows.get(name, {}).values() if row is not None and row.get(column) == value]

    # changing ------------------------------------------------------------------------------------------------
    def put(self, name: str, row: dict) -> None:
        """`row` (new, or the one `get` gave, changed) is the model's row now."""
        k = self._model_key(name, row)
        cache, dirty = self._rows.get(name), self._dirty.get(name)
        if cache is None:
            cache = self._rows[name] = {}
        if dirty is None:
            dirty = self._dirty[name] = set()
        cache[k] = row
        dirty.add(k)

    def count(self, name: str, key: dict, column: str, by: int) -> None:
        """Add `by` to the counter `column` of the row of `key` of model `name`, unread (its counters are only
        ever added to): `flush` adds the batch's counts in one bulk upsert."""
        counts, k = self._counts.get(name), self._model_key(name, key)
        if counts is None:
            counts = self._counts[name] = {}
        row = counts.get(k)
        if row is None:
            row = counts[k] = dict(key)
        row[column] = row.get(column, 0) + by

    def remove(self, name: str, key: dict) -> None:
        table = self._table(name)
        k = key_of(table, key)
        if name in ("opportunities", "tickets"):
            self.get(name, key)  # its row as read: the sums take it off
        self._rows.setdefault(name, {})[k] = None
        self._dirty.setdefault(name, set()).add(k)

    def open_stages(self, opportunity_id: str) -> list[dict]:
        if opportunity_id not in self._history_open:
            self.load_history([opportunity_id])
        return self._history_open[opportunity_id]

    def close_stages(self, opportunity_id: str, at) -> None:
        for row in self.open_stages(opportunity_id):
            row["left_at"] = at
            found = stage_times.stay(row.get("stage"), row.get("entered_at"), at)
            if found is not None:
                self._stays.append(found)
            if row.get("seq") is not None:
                self._history_closed.append({"b_seq": row["seq"], "b_left_at": at})
        self._history_open[opportunity_id] = []

    def enter_stage(self, row: dict) -> None:
        self.open_stages(row["opportunity_id"]).append(row)
        self._history_new.append(row)

    # writing -------------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every change back, once, at the batch's end (`writes`)."""
        for write in self.writes():
            write()


_UNREAD = object()  # a row the batch has not read
_KEY_NAMES: dict = {}  # model name -> its primary key's column names (`Store._model_key`)
_AMONG: dict = {}  # (table name, column, open stages only, dialect) -> its statement (`Store._among`)


class Detached(Exception):
    """The store needed its connection in `Store.detached`'s block (a row not read up front)."""


class _Detached:
    def __getattr__(self, name):
        raise Detached(name)


_DETACHED = _Detached()
