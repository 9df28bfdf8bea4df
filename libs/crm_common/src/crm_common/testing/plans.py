"""PostgreSQL's plans of the statements a call makes, for tests that a query is answered from its indexes."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text


def explained(session, run, table: str, off=("seqscan", "bitmapscan")) -> list[str]:
    """The EXPLAIN of each SELECT naming `table` that `run()` makes, planned without the scans `off` names (a test's
    few rows are served as well by a scan of the table, so the planner would pick one). Skips on another database."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans")
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if table in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(cursor.mogrify(statement, parameters).decode())
    bind = session.connection()
    event.listen(bind.engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(bind.engine, "before_cursor_execute", grab)
    for scan in off:
        session.execute(text(f"SET LOCAL enable_{scan} = off"))
    return ["\n".join(row[0] for row in bind.exec_driver_sql("EXPLAIN " + s.replace("%", "%%")))
            for s in statements]
