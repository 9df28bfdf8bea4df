"""A transaction on PostgreSQL whose BEGIN goes with its first statement and whose COMMIT with its last writes.

psycopg2 sends BEGIN on its own before a transaction's first statement, and COMMIT on its own at the end: two
round trips of a keyed create's six (crm_common.entrypoint.run_once), each a wait of the service on eventlet's
hub and a wake-up of its backend. `begin(session)`, called before the transaction's first statement, puts the
driver in autocommit for that transaction (it then sends nothing by itself) and has BEGIN sent in front of
the next statement SQLAlchemy executes; `commit_with(session, conn, sql)` gives the transaction's last writes
(crm_common.outbox.write_recorded) the COMMIT, when nothing is left to flush after them. Whatever was not
folded is sent when SQLAlchemy commits or rolls back, as the driver would have sent it (its errors raised as
SQLAlchemy's, as from the driver's own commit); the driver leaves autocommit then, and at the latest when the
connection goes back to its pool. A statement sent through SQLAlchemy after the folded COMMIT is refused (it
would run outside the transaction).

The caller of `begin` must send the transaction's first statement through SQLAlchemy (the driver's own cursor,
a COPY, would miss the BEGIN): run_once's look-up of its key is. Inside such a transaction the driver is in
autocommit: crm_common.prepared does not prepare there (it checks), and psycopg2 opens no server-side cursor
(`yield_per`) there (no keyed call reads that way; only analytics' migrations do).
"""
from __future__ import annotations

import weakref

from sqlalchemy import event

STATE = "crm_folded"  # in the connection's info: "begin" (BEGIN goes with the next statement), "open", "commit"
# (COMMIT goes with the next), "committed"
_engines: "weakref.WeakSet" = weakref.WeakSet()


def begin(session) -> bool:
    """Fold the BEGIN of the session's transaction into its next statement (PostgreSQL; the transaction not yet
    begun on the server, at the driver's default isolation). False: not folded, nothing changed."""
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        return False
    conn = session.connection()
    driver = conn.connection.driver_connection
    from psycopg2.extensions import STATUS_READY
    if (driver.status != STATUS_READY or driver.autocommit or driver.isolation_level is not None
            or driver.readonly is not None or driver.deferrable is not None):
        return False
    if engine not in _engines:
        _install(engine)
    driver.autocommit = True
    conn.info[STATE] = "begin"
    return True


def commit_with(session, conn, sql: str) -> str:
    """`sql` (the transaction's last writes, to send on `conn`, the session's connection) with the COMMIT after it,
    when the transaction's BEGIN was folded and nothing is left for the session to flush; else `sql` as it is."""
    if conn.info.get(STATE) != "open" or session.new or session.dirty or session.deleted:
        return sql
    conn.info[STATE] = "commit"  # "committed" once sent (_with_begin)
    return sql + "; COMMIT"


def _install(engine) -> None:
    event.listen(engine, "before_cursor_execute", _with_begin, retval=True)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _rollback)
    event.listen(engine, "reset", _reset)
    _engines.add(engine)


def _with_begin(conn, cursor, statement, parameters, context, executemany):
    state = conn.info.get(STATE)
    if state == "begin" and not executemany:
        conn.info[STATE] = "open"
        return "BEGIN; " + statement, parameters
    if state == "commit":
        conn.info[STATE] = "committed"
    elif state == "committed":
        raise RuntimeError("a statement after the transaction's folded COMMIT would run outside it")
    return statement, parameters


def _in_transaction(driver) -> bool:
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE
    return driver.info.transaction_status != TRANSACTION_STATUS_IDLE


def _commit(conn) -> None:
    if conn.info.get(STATE) is None:
        return
    driver = conn.connection.driver_connection
    try:
        if _in_transaction(driver):  # not folded into the last writes: sent now, its error raised as the Core's
            conn.info[STATE] = "open"
            conn.exec_driver_sql("COMMIT")
    finally:
        _done(conn.info, driver)


def _rollback(conn) -> None:
    if conn.info.get(STATE) is None or conn.invalidated:
        return
    _roll_back(conn.info, conn.connection.driver_connection)


def _reset(driver, record, reset_state=None) -> None:
    """The pool's reset of a connection coming back: never in autocommit, never in an open transaction."""
    if record.info.get(STATE) is None:
        return
    _roll_back(record.info, driver)


def _roll_back(info, driver) -> None:
    """The folded transaction rolled back if the server still holds it open; the driver out of autocommit."""
    try:
        if _in_transaction(driver):
            with driver.cursor() as cursor:
                cursor.execute("ROLLBACK")
    finally:
        _done(info, driver)


def _done(info, driver) -> None:
    info.pop(STATE, None)
    if not driver.closed:
        driver.autocommit = False
