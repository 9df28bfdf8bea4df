"""A crash is not an outage, a stop always stops, and two suites never share a vhost (`make run`'s
supervisor, crm_common.suite).

- a service killed with SIGKILL is restarted with back-off while every other one keeps answering;
- a request the gateway gave up on while its service was down is never carried out later;
- SIGTERM to `python -m crm_common.suite run` stops it and every process it started, promptly;
- a second suite on the same vhost refuses to start, in one line.
SQLite only: none of this depends on the database.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from crm_common.suite import Suite
from crm_common.testing.client import ApiClient
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
SERVICES = ("identity", "sales", "service_desk", "marketing", "analytics")


def readiness(base: str) -> dict:
    try:
        return requests.get(f"{base}/readyz", timeout=10).json().get("services", {})
    except (requests.RequestException, ValueError):
        return {}


@pytest.fixture
def watched(fresh_suite_env):
    env = {**fresh_suite_env, "CRM_RPC_TIMEOUT": "3"}
    suite = Suite(env=env, quiet=True, log_dir=Path(env["CRM_VAR_DIR"]) / "logs")
    done = threading.Event()
    watcher = threading.Thread(target=suite.watch, args=(done.is_set, 0.2), daemon=True)
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
        watcher.start()
        yield suite
    finally:
        done.set()
        suite.stop()
        suite.remove_broker_users()


def test_each_service_killed_is_restarted_while_the_others_keep_serving(watched):
    base = f"http://127.0.0.1:{watched.port}"
    admin = ApiClient(base).login(watched.env["CRM_ADMIN_EMAIL"], watched.env["CRM_ADMIN_PASSWORD"])
    for name in SERVICES:
        victim = watched.procs[name]
        os.killpg(victim.pid, signal.SIGKILL)
        # the supervisor sees the death and starts another process; the outage itself is not always visible from
        # outside: a restart quicker than the RPC timeout answers readiness's queued ping (the 503 of a service
        # that stays down is the next test's)
        restarted = eventually(lambda: watched.procs[name].pid != victim.pid, timeout=30, interval=0.1)
        assert restarted, f"{name} was not restarted after SIGKILL"
        during = readiness(base)
        assert all(during.get(other) == "ok" for other in SERVICES if other != name), during
        back = eventually(lambda: readiness(base).get(name) == "ok", timeout=60, interval=0.5)
        assert back, f"{name} did not answer again within 60 s"
    assert admin.get("/api/v1/leads").status_code == 200
    log = (Path(watched.env["CRM_VAR_DIR"]) / "logs" / "supervisor.log").read_text()
    for name in SERVICES:
        assert f"{name} exited with -9; restarting it in 1 s" in log and f"{name} restarted" in log


def test_a_request_answered_503_while_its_service_was_down_is_never_carried_out(watched):
    base = f"http://127.0.0.1:{watched.port}"
    admin = ApiClient(base).login(watched.env["CRM_ADMIN_EMAIL"], watched.env["CRM_ADMIN_PASSWORD"])
    watched.stop_one("sales", sig=signal.SIGKILL)  # taken off the supervisor's list: it stays down
    email = f"late.{time.time_ns()}@example.com"
    refused = admin.post("/api/v1/leads", json={"last_name": "Late", "company": "Slow Ltd", "email": email})
    assert refused.status_code == 503, refused.text
    time.sleep(4)  # past the request's expiry (CRM_RPC_TIMEOUT = 3 s)
    watched.start(only=["sales"])
    assert eventually(lambda: readiness(base).get("sales") == "ok", timeout=60, interval=0.5)
    time.sleep(2)
    found = admin.get("/api/v1/leads", params={"email": email})
    assert found.status_code == 200 and found.json()["items"] == []


def test_a_second_suite_on_the_same_vhost_refuses_to_start(watched):
    second = Suite(env={**watched.env, "CRM_PORT": "1"}, quiet=True)
    with pytest.raises(SystemExit) as refused:
        second.check_broker()
    assert "another CRM suite is running on" in str(refused.value)
    assert "guest:guest" not in str(refused.value)  # the URI is shown without its password


def test_sigterm_stops_the_suite_and_everything_it_started(fresh_suite_env):
    env = {**os.environ, **fresh_suite_env, "CRM_MAIL_PORT": "0"}
    root = Path(__file__).resolve().parents[2]
    run = subprocess.Popen([sys.executable, "-m", "crm_common.suite", "run"], env=env, cwd=root,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{env['CRM_PORT']}"
        assert eventually(lambda: set(readiness(base).values()) == {"ok"}, timeout=120, interval=1), \
            "the suite did not start"
        children = _processes_of(env["CRM_VAR_DIR"])
        assert len(children) >= len(SERVICES) + 1
        run.send_signal(signal.SIGTERM)
        assert run.wait(30) == 0
        assert eventually(lambda: not _processes_of(env["CRM_VAR_DIR"]), timeout=10), "processes outlived the stop"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        for pid in _processes_of(env["CRM_VAR_DIR"]):
            os.kill(pid, signal.SIGKILL)


def _processes_of(var_dir: str) -> list[int]:
    """Processes started with this suite's CRM_VAR_DIR in their environment (the suite's children)."""
    found, marker = [], f"CRM_VAR_DIR={var_dir}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_second_start_skips_the_bootstrap_and_serves_and_a_database_off_its_revision_is_migrated(fresh_suite_env):
    """A second `make run` on the same var/ and broker needs no bootstrap child (crm_common.suite_ready) and
    serves as the first did; a database found at another revision (a restore, a deleted file) is migrated."""
    env = {**fresh_suite_env, "CRM_RPC_TIMEOUT": "5"}
    var = Path(env["CRM_VAR_DIR"])

    def start_and_login() -> tuple[dict, int]:
        suite = Suite(env=env, quiet=True, log_dir=var / "logs")
        try:
            info = suite.bootstrap()
            suite.start()
            suite.wait_ready(120)
            admin = ApiClient(f"http://127.0.0.1:{suite.port}").login(env["CRM_ADMIN_EMAIL"], env["CRM_ADMIN_PASSWORD"])
            made = admin.post("/api/v1/leads", json={"last_name": "Again", "company": f"Second start {time.time()}"})
            return info, made.status_code
        finally:
            suite.stop()  # as Ctrl-C stops make run: the broker users stay for the next start

    try:
        first, created = start_and_login()
        assert not first["skipped"] and created == 201
        second, created = start_and_login()
        assert second["skipped"] and created == 201, second
        (var / "gateway.db").unlink()  # the gateway's own database gone: migrated alone, the rest skipped
        third, created = start_and_login()
        assert not third["skipped"] and created == 201
        assert "migrated: gateway\n" in third["output"] + "\n", third["output"]
    finally:  # the broker users the three starts shared
        from crm_common import brokerusers
        brokerusers.delete(brokerusers.default_prefix(env["AMQP_URI"]))
