"""A broker restart under load (issue 18, item 2): RabbitMQ is stopped and started again (`rabbitmqctl
stop_app` / `start_app`) while lead creates stream through the gateway. Every write is answered 201 or
refused with a 503 (never a 500, never a hang); none answered 201 is lost; every lead_created event is
published (confirmed) and applied once by each consumer; and the suite serves again without a restart of
any of its processes. PostgreSQL only, like the replica test (the same effects are counted).

The broker is shared by the whole machine: the outage is kept to a few seconds, and the broker is started
again however the test ends."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.scale_out import Load, admin_of, pg_suite, settled, write_leads

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.exclusive,
              pytest.mark.postgresql]
WRITES = 600
OUTAGE = 5  # seconds the broker stays stopped


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL, timeout=120)


def restart_broker() -> None:
    rabbitmqctl("stop_app")
    try:
        time.sleep(OUTAGE)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


def test_writes_through_a_broker_restart_are_answered_or_refused_and_none_is_lost(fresh_suite_env, capsys):
    with pg_suite({**fresh_suite_env, "CRM_RPC_TIMEOUT": "5"}, supervised=False) as (suite, pg):
        admin = admin_of(suite)
        pids = {name: proc.pid for name, proc in suite.procs.items()}
        load = Load()
        writer = threading.Thread(target=write_leads, args=(admin, WRITES), kwargs={"threads": 4, "load": load},
                                  daemon=True)
        writer.start()
        restarted_at = None
        try:
            assert eventually(load.done, timeout=120, until=lambda n: n >= 100) >= 100, "the load did not start"
            restart_broker()
            restarted_at = load.done()
        finally:
            subprocess.run(["rabbitmqctl", "-q", "start_app"], stdout=subprocess.DEVNULL, timeout=120)
        writer.join(300)
        assert not writer.is_alive(), "writes hung after the broker restart"

        # no restart of any process: each finds the broker again by itself
        assert {name: proc.poll() for name, proc in suite.procs.items()} == dict.fromkeys(pids)
        assert eventually(lambda: readyz(admin), timeout=90, interval=1, until=lambda answer: answer[0] == 200)
        assert eventually(lambda: admin.post("/api/v1/leads", json={
            "last_name": "After", "company": "Restart Ltd", "email": f"after.{time.time_ns()}@example.com"}
        ).status_code, timeout=60, interval=1, until=lambda status: status == 201) == 201
        assert {name: proc.pid for name, proc in suite.procs.items()} == pids
        assert all(proc.poll() is None for proc in suite.procs.values())

        found = settled(pg, load, timeout=120)
        statuses = load.statuses()
        with capsys.disabled():
            print(f"\nbroker restart after {restarted_at} of {WRITES} writes: answers {dict(statuses)}; lost "
                  f"{found['lost_writes']}, duplicated writes {found['duplicated_writes']}, duplicated events "
                  f"{found['duplicated_events']}, unpublished {found['unpublished']}, undelivered "
                  f"{found['undelivered']}")
        assert set(statuses) <= {201, 503}, statuses
        assert statuses[503] >= 1, "no write met the outage"  # the restart fell inside the load
        assert restarted_at < WRITES
        assert found["lost_writes"] == 0 and found["duplicated_writes"] == 0
        assert found["duplicated_events"] == 0 and found["missing_events"] == 0
        assert found["unpublished"] == 0
        assert found["undelivered"] and not any(found["undelivered"].values()), found["undelivered"]
        assert found["audited_twice"] == 0 and found["unaudited"] == 0


def readyz(admin) -> tuple:
    """/readyz's status and body (which services did not answer), or the error that kept it from answering."""
    try:
        response = admin.get("/readyz", timeout=15)
    except Exception as exc:
        return None, repr(exc)
    return response.status_code, response.text
