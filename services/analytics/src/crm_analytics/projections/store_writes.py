"""The writes of a `Store` (projections/store.py): what a batch changed, as the statements and COPYs that write it
back (`writes`, built without the connection: the log's COPY may hold it meanwhile, `project_beside`), in order:
the rows absent with one COPY (PostgreSQL; those taken as absent first, in a savepoint that checks them), the
others with one bulk upsert, one DELETE; the counters added unread; the stage history's inserts and updates."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select, update

from crm_common import bulk, prepared

from crm_analytics.projections import stage_times, sums, ticket_sums
from crm_analytics.projections.table_rows import full, present
from crm_analytics.projections.upserts import array_text, upsert, upsert_statement

CHUNK = 500  # ids per IN (...)


class StoreWrites:
    """`Store`'s writing half (its state is `Store`'s: the rows read and changed, the counts, the stays)."""

    def writes(self) -> list:
        """Every change made ready to write, on no connection (the statements' text and the COPYs' formatted):
        the functions that write them, in order, once called (the opportunities as read, which the sums take off,
        are not renewed): per model one DELETE and one bulk upsert; the stage history's rows. The store is left
        as after a flush."""
        out: list = []
        if any(self._assumed.values()):
            out.append(self._assumed_write())
        if self._dirty.get("opportunities"):
            added = sums.deltas(
                [(self._before.get(k), self._rows["opportunities"][k]) for k in self._dirty["opportunities"]])
            self._add(out, self.t.opportunity_sums, sums.SUMS, added)
            self._drop_emptied_sums(out, added)
        if self._dirty.get("tickets"):
            days: set = set()
            counted, timed = ticket_sums.deltas(
                [(self._tickets_before.get(k), self._rows["tickets"][k]) for k in self._dirty["tickets"]], days)
            self._add(out, self.t.ticket_sums, ticket_sums.COUNTS, counted)
            self._add(out, self.t.ticket_times, ("tickets",), timed)
            if days:  # their days no longer counted (domain/ticket_days.py); PostgreSQL: in the queued round trip
                marking = ticket_sums.day_marks(self.dialect.name, self.t.ticket_day_marks, days)
                if self.dialect.name == "postgresql":
                    self._queued.append(marking)
                else:
                    out.append(self._executing(*marking))
        for name, counted in self._counts.items():
            table = self._table(name)
            self._add(out, table, tuple(c.name for c in table.columns if not c.primary_key), list(counted.values()))
        self._counts = {}
        if self._stays:
            self._add(out, self.t.stage_times, stage_times.SUMS, stage_times.deltas(self._stays), stage_times.EXTREMES)
            self._stays = []
        for name, keys in self._dirty.items():
            table, cache, copied = self._table(name), self._rows[name], self._copied.get(name, ())
            gone = [k for k in keys if cache[k] is None]
            written = [k for k in keys if cache[k] is not None and k not in copied]
            if gone:
                (first,) = table.primary_key.columns  # only single-key models are removed
                for i in range(0, len(gone), CHUNK):
                    out.append(self._executing(table.delete().where(first.in_([k[0] for k in gone[i:i + CHUNK]]))))
            if written and self.dialect.name == "postgresql":
                # rows read absent: COPY straight into the model (no other batch writes it meanwhile); the others
                # in one upsert
                new = [k for k in written if (name, k) in self._absent]
                old = [k for k in written if (name, k) not in self._absent]
                if new:
                    out.append(self._copying(table, present(table, [cache[k] for k in new])))
                    self._absent.difference_update((name, k) for k in new)
                if old:
                    self._queued.append(upsert_statement(self.dialect, table, [cache[k] for k in old]))
            elif written:
                out.append(self._executing(upsert(self.dialect, table), [full(table, cache[k]) for k in written]))
        self._dirty = {}
        h = self.t.stage_history
        if self._history_new:
            columns = [c.name for c in h.columns if c.name != "seq"]  # PostgreSQL: a COPY
            out.append(self._copying(h, [{c: row.get(c) for c in columns} for row in self._history_new]))
            self._history_new = []
            self._history_open = {}  # the rows written have their seq only in the database now
        if self._history_closed:
            if self.dialect.name == "postgresql":
                self._queued.append((
                    f'UPDATE "{h.name}" AS h SET left_at = u.left_at FROM unnest(CAST(%(seqs)s AS integer[]), '
                    "CAST(%(lefts)s AS timestamptz[])) AS u(seq, left_at) WHERE h.seq = u.seq",
                    {"seqs": array_text([r["b_seq"] for r in self._history_closed]),
                     "lefts": array_text([r["b_left_at"] for r in self._history_closed])}))
            else:
                out.append(self._executing(update(h).where(h.c.seq == bindparam("b_seq"))
                                           .values(left_at=bindparam("b_left_at")), self._history_closed))
            self._history_closed = []
        if self._queued:
            # PostgreSQL: the sums' upserts, the rows read and changed, the stays closed, in order, in one round
            # trip, each prepared once per connection (`crm_common.prepared.send`: their texts are the same every
            # batch, only their array parameters change)
            queued, self._queued = self._queued, []
            out.append(lambda: prepared.send(self.conn, queued))
        return out

    def _executing(self, statement, *parameters):
        """A write of `writes`: the statement executed on the store's connection when called."""
        return lambda: self.conn.execute(statement, *parameters)

    def _copying(self, table, rows: list[dict]):
        """A write of `writes`: the rows' insert (bulk.prepare: on PostgreSQL their COPY text formatted now)."""
        write = bulk.prepare(self.dialect, table, rows, self._memo)
        return lambda: write(_AsSession(self.conn))

    def _assumed_write(self):
        """The rows `assume_absent` took as absent, as the batch left them: their COPY in a savepoint (its own, or
        the caller's when `guarded`; those it removed: checked absent by a read); one found there: `Conflict`,
        nothing written. Formatted now; the write that sends them."""
        copies, checks = [], []
        for name in sorted(self._assumed):
            table, cache, keys = self._table(name), self._rows[name], self._assumed[name]
            made = [row for row in map(cache.__getitem__, keys) if row is not None]
            if made:
                copies.append(self._copying(table, present(table, made)))
            (first,) = table.primary_key.columns
            gone = [k[0] for k in keys if cache[k] is None]
            checks += [(name, select(first).where(first.in_(gone[i:i + CHUNK])).limit(1))
                       for i in range(0, len(gone), CHUNK)]
        self._copied = {name: {k for k in keys if self._rows[name][k] is not None}
                        for name, keys in self._assumed.items()}
        self._assumed = {}

        def copy() -> None:
            for write in copies:
                write()
            for name, check in checks:
                if self.conn.execute(check).first():
                    raise Conflict(name)

        def write() -> None:
            from psycopg2 import errors
            try:
                if self.guarded:
                    copy()
                else:
                    with self.conn.begin_nested():  # on the connection: emitted now, ended in this block
                        copy()
            except errors.UniqueViolation as error:
                raise Conflict(str(error)) from error

        return write

    def _add(self, out: list, table, added: tuple, rows: list, extremes: tuple = ()) -> None:
        """Add `rows` to the pre-aggregated `table` (its columns `added` summed, `extremes` ((column, "LEAST" or
        "GREATEST"), ...) kept at the least or greatest, the others set): one bulk upsert (queued, or a write of
        `writes` put in `out`)."""
        if not rows:
            return
        if self.dialect.name == "postgresql":
            self._queued.append(upsert_statement(self.dialect, table, rows, added=added, extremes=extremes))
        else:
            rows = [full(table, row) for row in rows]
            from sqlalchemy.dialects.sqlite import insert
            statement = insert(table)
            sets = {n: func.coalesce(table.c[n], 0) + statement.excluded[n] for n in added}
            for n, which in extremes:  # SQLite's two-argument min() and max()
                pick = func.min if which == "LEAST" else func.max
                sets[n] = pick(func.coalesce(table.c[n], statement.excluded[n]), statement.excluded[n])
            out.append(self._executing(statement.on_conflict_do_update(
                index_elements=[c.name for c in table.primary_key.columns], set_=sets), rows))

    def _drop_emptied_sums(self, out: list, added: list) -> None:
        """The opportunities' sums (projections/sums.py) of the combinations the batch left without deals."""
        table = self.t.opportunity_sums
        emptied = [row["key"] for row in added if row["deals"] < 0]  # the last deals of a combination left it
        if emptied and self.dialect.name == "postgresql":  # after the upsert that adds them, in its round trip
            self._queued.append((f'DELETE FROM "{table.name}" WHERE key = ANY(CAST(%(keys)s AS varchar[])) '
                                 "AND deals <= 0", {"keys": array_text(emptied)}))
            return
        for i in range(0, len(emptied), CHUNK):
            out.append(self._executing(table.delete().where(table.c.key.in_(emptied[i:i + CHUNK]),
                                                            table.c.deals <= 0)))


class Conflict(Exception):
    """A row `Store.assume_absent` took as absent is there: nothing of the batch was written."""


class _AsSession:
    """A Connection where crm_common.bulk wants a Session (a rebuild replays on a Connection)."""
    def __init__(self, conn):
        self._conn = conn

    def connection(self):
        return self._conn.connection() if hasattr(self._conn, "get_bind") else self._conn
