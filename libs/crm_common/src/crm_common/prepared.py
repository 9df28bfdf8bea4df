"""A hot read's statement prepared once per PostgreSQL connection: `PREPARE` on the connection's first use of it,
then `EXECUTE` by name, so that PostgreSQL parses and analyses it once and, once it settles on a generic plan
(its `plan_cache_mode` auto: after five executions, when that plan costs no more than planning each call's own),
plans it once too. A page of leads (paging.paginate_plain) is a UNION of a few subqueries whose planning cost the
database as much as running them.

Only on a connection in autocommit (the reads of `db.reader`): a PREPARE that fails there fails alone, where in a
transaction it would abort the transaction. Elsewhere -- SQLite, a connection in a transaction, a statement with an
expanding IN (its parameters vary in number) or one PostgreSQL cannot prepare -- the statement runs as usual.

Each connection remembers what it prepared (the pool's `info` of the connection: a new connection prepares again)
and holds at most MAX_PER_CONNECTION statements (DEALLOCATE ALL past that). A statement prepared before a migration
changed its table is prepared again when PostgreSQL refuses to run it ("cached plan must not change result type").

`send` is for statements inside a transaction (a projection's bulk upserts of array parameters, a row's lock):
statements of SQL text sent in one round trip, each as EXECUTE of its text prepared on the connection, with its
PREPARE in that round trip the first time. A PREPARE outlives the transaction (and a rollback): the connection's
names are read from PostgreSQL (`pg_prepared_statements`) on its first `send` and again after a round trip failed.
"""
from __future__ import annotations

import hashlib
import re
import threading

from crm_common import folded

MAX_PER_CONNECTION = 256
_MAX_PLANS = 1024
_INFO_KEY = "crm_prepared"
_RETRY_CODES = ("26000", "0A000")  # invalid_sql_statement_name (deallocated), feature_not_supported (table changed)
_PARAM = re.compile(r"%\((\w+)\)s")
_UNSURE_KEY = "crm_prepared_unsure"  # the connection's names not known since a `send` failed (or never read)


class _Plan:
    """A statement compiled for PostgreSQL once: its PREPARE and EXECUTE texts and how a call's values go in."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.compiled = compiled
        text = compiled.string
        if "POSTCOMPILE" in text or compiled.positional:
            raise ValueError("the statement's parameters are not fixed in number and name")
        self.names: list[str] = []

        def number(match):
            if match.group(1) not in self.names:
                self.names.append(match.group(1))
            return f"${self.names.index(match.group(1)) + 1}"

        self.name = "crm_" + hashlib.sha1(text.encode()).hexdigest()[:20]
        self.prepare = f"PREPARE {self.name} AS " + _PARAM.sub(number, text).replace("%%", "%")
        self.execute = f"EXECUTE {self.name}" + (
            "(" + ", ".join(f"%({name})s" for name in self.names) + ")" if self.names else "")
        self.binds = {name: proc for name, proc in compiled._bind_processors.items() if name in self.names}
        self.dialect = dialect
        self.results: list | None = None  # (position, the column type's result processor), at the first run
        self.keys = tuple(column[0] for column in compiled._result_columns)

    def processors(self, description) -> list:
        """The result processors of the columns that have one, for the driver's column types (a numeric's
        depends on it), worked out at the statement's first run."""
        if self.results is None:
            found = [(position, column[3]._cached_result_processor(self.dialect, described[1]))
                     for position, (column, described) in enumerate(zip(self.compiled._result_columns, description))]
            self.results = [(position, proc) for position, proc in found if proc is not None]
        return self.results

    def values(self, params: dict) -> dict:
        values = self.compiled.construct_params(params)
        for name, proc in self.binds.items():
            values[name] = proc(values[name])
        return {name: values[name] for name in self.names}


_plans: dict = {}
_UNKNOWN = object()  # a statement never seen (None: one that cannot be prepared)
_lock = threading.Lock()


def _plan_of(statement, dialect):
    """The statement's _Plan, None if it cannot be prepared (remembered either way)."""
    found = _plans.get(statement, _UNKNOWN)
    if found is not _UNKNOWN:
        return found
    try:
        plan = _Plan(statement, dialect)
    except ValueError:
        plan = None
    with _lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[statement] = plan
    return plan


def rows(conn, statement, params: dict) -> tuple[tuple[str, ...], list]:
    """`conn.execute(statement, params)`'s column names and rows (tuples), by a statement prepared on the
    connection where it can be (see the module doc)."""
    plan = None
    if (conn.dialect.name == "postgresql" and getattr(conn.connection.dbapi_connection, "autocommit", False)
            and folded.STATE not in conn.info):  # not a transaction whose BEGIN the driver left to us (folded)
        plan = _plan_of(statement, conn.dialect)
    if plan is None or not _prepare(conn, plan):
        result = conn.execute(statement, params)
        return tuple(result.keys()), result.fetchall()
    values = plan.values(params)
    dbapi = conn.connection.dbapi_connection
    for attempt in (1, 2):
        cursor = dbapi.cursor()
        try:
            cursor.execute(plan.execute, values)
            fetched = cursor.fetchall()
            results = plan.processors(cursor.description)
            break
        except dbapi.Error as exc:
            retry = attempt == 1 and getattr(exc, "pgcode", None) in _RETRY_CODES
        finally:
            cursor.close()
        # deallocated meanwhile, or its table changed since: prepared again, once; any other failure (the
        # connection lost, a value the column refuses) runs the statement as usual, to fail as usual
        conn.connection.info.get(_INFO_KEY, set()).discard(plan.name)
        if not (retry and _deallocate(conn, plan.name) and _prepare(conn, plan)):
            result = conn.execute(statement, params)
            return tuple(result.keys()), result.fetchall()
    if results:
        fetched = [_processed(row, results) for row in fetched]
    return plan.keys, fetched


def _processed(row, results) -> tuple:
    row = list(row)
    for position, proc in results:
        row[position] = proc(row[position])
    return tuple(row)


def _prepare(conn, plan: _Plan) -> bool:
    """Whether the statement is prepared on the connection (prepared now if it was not); False if PostgreSQL
    refused it (never tried again in this process)."""
    prepared = conn.connection.info.setdefault(_INFO_KEY, set())
    if plan.name in prepared:
        return True
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        if len(prepared) >= MAX_PER_CONNECTION:
            cursor.execute("DEALLOCATE ALL")
            prepared.clear()
        cursor.execute(plan.prepare)
    except dbapi.Error as exc:
        if _connection_failed(exc):  # not the statement's fault: it runs as usual (and fails as usual)
            return False
        if getattr(exc, "pgcode", None) == "42P05":  # already prepared (by an earlier run of this process)
            prepared.add(plan.name)
            return True
        with _lock:
            for statement, known in list(_plans.items()):
                if known is plan:
                    _plans[statement] = None
        return False
    finally:
        cursor.close()
    prepared.add(plan.name)
    return True


def _deallocate(conn, name: str) -> bool:
    """DEALLOCATE the statement if the connection still has it; False if the connection failed."""
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        cursor.execute(f"DEALLOCATE {name}")
    except dbapi.Error as exc:
        if _connection_failed(exc):
            return False  # else it was gone already
    finally:
        cursor.close()
    return True


def _connection_failed(exc) -> bool:
    """An error of the connection (lost, refused, the server shutting down), not of the statement."""
    code = getattr(exc, "pgcode", None)
    return code is None or code.startswith(("08", "57"))


class _Write:
    """A write's SQL text (parameters `%(name)s`) as a prepared statement: its PREPARE and EXECUTE texts."""

    def __init__(self, sql: str):
        names = list(dict.fromkeys(_PARAM.findall(sql)))
        self.name = "crm_" + hashlib.sha1(sql.encode()).hexdigest()[:20]
        body = _PARAM.sub(lambda match: f"${names.index(match.group(1)) + 1}", sql).replace("%%", "%")
        self.prepare = f"PREPARE {self.name} AS {body}".encode()
        self.execute = f"EXECUTE {self.name}" + ("(" + ", ".join(f"%({n})s" for n in names) + ")" if names else "")


_writes: dict = {}  # SQL text -> its _Write


def send(conn, statements: list[tuple[str, dict]], first: str = ""):
    """PostgreSQL: run `statements` ((SQL text with `%(name)s` parameters, their values), ...) in order, in one
    round trip on the Core connection `conn` (in its transaction), each prepared once per connection (see the
    module doc): PostgreSQL parses and plans each text once, not at every call. `first`: a statement that cannot
    be prepared (a SAVEPOINT), sent as it is before them. The last statement's first row, if it returns rows."""
    info, dbapi = conn.connection.info, conn.connection.driver_connection
    with dbapi.cursor() as cursor:
        if _UNSURE_KEY in info or _INFO_KEY not in info:  # a new connection, or one whose last round trip failed
            cursor.execute("SELECT name FROM pg_prepared_statements")
            info[_INFO_KEY] = {row[0] for row in cursor.fetchall()}
            info.pop(_UNSURE_KEY, None)
        prepared = info[_INFO_KEY]
        parts, new = [first.encode()] if first else [], []
        if len(prepared) + len(statements) > MAX_PER_CONNECTION:
            parts.append(b"DEALLOCATE ALL")
            prepared.clear()
        for sql, params in statements:
            write = _writes.get(sql)
            if write is None:
                if len(_writes) >= _MAX_PLANS:
                    _writes.clear()
                write = _writes[sql] = _Write(sql)
            if write.name not in prepared and write.name not in new:
                parts.append(write.prepare)
                new.append(write.name)
            parts.append(cursor.mogrify(write.execute, params))
        info[_UNSURE_KEY] = True  # until the round trip is through: a failure leaves its PREPAREs unknown
        cursor.execute(b";\n".join(parts))
        info.pop(_UNSURE_KEY)
        prepared.update(new)
        return cursor.fetchone() if cursor.description is not None else None
