"""Statements of a transaction sent to PostgreSQL without waiting for them: the caller goes on with its Python work
while the server runs them (two cores: the service's process and its backend at once).

`send(session, statements)` hands the statements to a greenthread of their own, which sends them in one round trip
on the session's connection and waits for the answer; the caller's greenthread goes on at once. Whatever uses the
connection next waits for that answer first (a statement, the commit or the rollback: listeners on the engine), and
an error of the statements is raised there, as it would have been from them (a statement or the commit). Only on
PostgreSQL under eventlet's green psycopg2 (a wait callback that yields to the hub); elsewhere `available` is False
and the caller runs its statements itself.
"""
from __future__ import annotations

import logging
import weakref

from sqlalchemy import event

log = logging.getLogger(__name__)
_PENDING = "crm_pipelined"  # in the connection's info: the greenthread whose statements are under way
_engines: "weakref.WeakSet" = weakref.WeakSet()


def available(session) -> bool:
    """Whether `send` sends without waiting here (PostgreSQL, psycopg2 green under eventlet)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    from psycopg2 import extensions
    callback = extensions.get_wait_callback()
    return callback is not None and "eventlet" in getattr(callback, "__module__", "")


def send(session, statements: list[tuple[str, tuple]]) -> None:
    """Send `statements` ((sql, parameters) pairs, psycopg2's paramstyle) in the session's transaction, in one round
    trip, without waiting for their answer (see the module). Run at once where not `available`."""
    conn = session.connection()
    sql, parameters = "; ".join(s for s, _ in statements), tuple(v for _, p in statements for v in p)
    if not available(session):
        conn.exec_driver_sql(sql, parameters)
        return
    import eventlet
    engine = session.get_bind()
    if engine not in _engines:
        _install(engine)
    join(conn)  # one under way at a time
    driver = conn.connection.driver_connection  # the transaction is open on the server: its first statement began it

    def run():
        with driver.cursor() as cursor:
            cursor.execute(sql, parameters)
    conn.info[_PENDING] = eventlet.spawn(run)
    eventlet.sleep(0)  # it sends them now, then waits on the hub while this greenthread goes on


def join(conn) -> None:
    """Wait for the statements under way on `conn`, if any; their error raised here."""
    pending = conn.info.pop(_PENDING, None)
    if pending is not None:
        pending.wait()


def _install(engine) -> None:
    # first among the listeners: before crm_common.folded sends a BEGIN, COMMIT or ROLLBACK of its own
    event.listen(engine, "before_cursor_execute", _before_statement, insert=True)
    event.listen(engine, "commit", _before_end, insert=True)
    event.listen(engine, "rollback", _before_rollback, insert=True)
    _engines.add(engine)


def _before_statement(conn, cursor, statement, parameters, context, executemany):
    join(conn)


def _before_end(conn) -> None:
    join(conn)


def _before_rollback(conn) -> None:
    try:
        join(conn)
    except Exception as exc:  # rolled back now: what they wrote goes with the rest; the error that made the
        # transaction roll back is already on its way up (nothing is lost by not raising this one over it)
        log.info("statements sent ahead failed in a transaction rolled back: %s", type(exc).__name__)
