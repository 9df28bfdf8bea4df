"""The console's session store on SQLite: the gunicorn workers of a first start open the same new file at once."""
from __future__ import annotations

import multiprocessing

from crm_console import sessions

WORKERS, ROUNDS = 4, 25


def _open(path, start, answers) -> None:
    start.wait()
    try:
        sessions.SqliteStore(path)
        answers.put(None)
    except Exception as error:  # noqa: BLE001 - the test reports what failed
        answers.put(repr(error))


def test_workers_opening_a_new_session_store_at_once_all_start_and_share_it(tmp_path):
    """Each worker switches the new file to WAL as it opens it. Two switching at once made one fail with 'database
    is locked' at once (SQLite refuses one rather than wait: each holds a shared lock the other needs gone); its
    worker failed to boot and gunicorn stopped the whole gateway (seen in a CI run)."""
    processes = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(ROUNDS):
        path, start, answers = tmp_path / f"round{round_}" / "sessions.sqlite3", processes.Barrier(WORKERS), processes.Queue()
        workers = [processes.Process(target=_open, args=(path, start, answers)) for _ in range(WORKERS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        failures += [answer for answer in (answers.get(timeout=5) for _ in workers) if answer]
    assert failures == []
    first, second = sessions.SqliteStore(path), sessions.SqliteStore(path)
    first.put("s1", {"user": "ada"}, ttl=60)
    assert second.get("s1") == {"user": "ada"}
