"""A timer entrypoint wrapped in `periodic` survives a failed run: it logs it, reports it as failed (the
metrics count it: crm_timer_runs_total{outcome="error"}), and the next run goes ahead."""
import logging

from crm_common import metrics
from crm_common.service_base import periodic


class Worker:
    def __init__(self):
        self.runs = 0

    @periodic("the nightly sweep")
    def tick(self):
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("database went away")
        return "swept"


def test_a_failed_run_is_logged_and_the_next_one_runs(caplog):
    worker = Worker()
    with caplog.at_level(logging.ERROR):
        assert worker.tick() is metrics.FAILED
    assert "the nightly sweep failed" in caplog.text and "database went away" in caplog.text
    assert worker.tick() == "swept" and worker.runs == 2
    assert Worker.tick.__name__ == "tick"
