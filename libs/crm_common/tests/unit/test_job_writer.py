"""jobs.Writer: a job's batches written one behind the work that prepares them, in order, errors surfacing."""
import threading
import time

import pytest

from crm_common import jobs
from crm_common.db import make_engine


def test_batches_are_written_in_order_while_the_next_is_prepared():
    written, overlaps = [], []
    writing = threading.Event()

    def write(n):
        def run():
            writing.set()
            time.sleep(0.02)
            written.append(n)
            writing.clear()
        return run

    with jobs.Writer() as writer:
        for n in range(5):
            time.sleep(0.005)  # preparing batch n: the previous one is being written meanwhile
            overlaps.append(writing.is_set())
            writer.submit(write(n))
    assert written == [0, 1, 2, 3, 4]  # all written by the end of the block, in order
    assert any(overlaps[1:])  # preparing and writing did run side by side


def test_a_failed_write_is_raised_to_the_job_and_nothing_after_it_is_written():
    written = []

    def fail():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        with jobs.Writer() as writer:
            writer.submit(fail)
            writer.wait()
            writer.submit(lambda: written.append("later"))
    assert written == []


def test_on_sqlite_it_writes_at_once_in_the_thread_that_began_the_batch():
    written = []
    with jobs.Writer(make_engine("sqlite://")) as writer:
        writer.submit(lambda: written.append(threading.current_thread().name))
        assert written == [threading.current_thread().name]
