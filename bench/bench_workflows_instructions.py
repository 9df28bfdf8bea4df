"""The workflow engine's work per event counted in machine instructions (valgrind), which the load of a shared
machine does not move, for comparing two versions of the code where CPU time scatters by a quarter between runs.

In process, no broker (SQLite file; BENCH_BACKEND=postgresql: a database of its own, this process's instructions
only): bench_workflows.py's 100 workflows (5 match each event: 4 skip, 1 notifies), events in transactions of 50
(inbox claim, the stream's `handlers.offer_to_workflows`, the outbox rows, the commit), their outbox rows marked
every 200 events and the mail timer's round every 1,000, as the service does between its transactions; the heap
frozen after the warm-up, as the service freezes it once started (`crm_common.heap`). The process runs under
`valgrind --tool=cachegrind` twice, with BENCH_EVENTS and 6 x BENCH_EVENTS events: the difference over the extra
events is the instructions per event, the start-up (imports, schema, workflows) left out. BENCH_MODE=bare: the same service
path with no workflow (the bare consumer of bench_workflows.py's broker phase). Needs valgrind (Debian: valgrind).

    BENCH_EVENTS=200 .venv/bin/python bench/bench_workflows_instructions.py
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_EVENTS", "200"))
MODE = os.environ.get("BENCH_MODE", "engine")


def run_events(count: int) -> None:
    """The measured process: `count` events after a warm-up batch."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_workflows as b
    from sqlalchemy import select

    from crm_common import heap, outbox, tables
    from crm_common.db import make_engine
    from crm_automation.domain import notifications, workflows
    from crm_automation.models import Base

    url, cleanup = b.database()
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        tx = b.transact(engine)
        if MODE == "engine":
            for body in b.definitions():
                tx(workflows.create, body)
        counter = [0]

        def batch(size: int) -> None:
            envs = [b.envelope(counter[0] + i) for i in range(size)]
            counter[0] += size
            tx(b.with_workflows, envs)
        batch(50)  # the workflows compiled
        heap.freeze()  # as the service does once started (crm_common.heap): collections skip what start-up made
        table = Base.metadata.tables[tables.OUTBOX]
        for i in range(count // 50):
            batch(50)
            if i % 4 == 3:  # the rows published since, marked together (outbox.Marks)
                with engine.connect() as conn:
                    ids = conn.execute(select(table.c.event_id).where(table.c.published_at.is_(None))).scalars().all()
                if ids:
                    outbox._mark(engine, Base.metadata, ids)
            if i % 20 == 19:  # the mail timer's round
                notifications.mail_due(tx, lambda messages: [(m["ids"], "sent") for m in messages])
    finally:
        engine.dispose()
        cleanup()


def instructions(count: int) -> int:
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, __file__, str(count)], capture_output=True, text=True, check=True)
    return int(re.search(r"I\s+refs:\s+([\d,]+)", done.stderr).group(1).replace(",", ""))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run_events(int(sys.argv[1]))
    else:
        few, many = instructions(EVENTS), instructions(6 * EVENTS)
        print(f"{MODE} ({os.environ.get('BENCH_BACKEND', 'sqlite')}, in process, 50 events a transaction): "
              f"{(many - few) / (5 * EVENTS):,.0f} instructions per event ({few:,} for {EVENTS} events, {many:,} "
              f"for {6 * EVENTS})")
