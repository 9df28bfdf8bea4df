"""The platform as a user meets it: one command starts everything, probes tell the truth, a stopped
service is a 503 (never a hung request), and broken broker connections heal by themselves."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import pytest

from crm_common.ports import free_port
from crm_common.testing.harness import close_connections

pytestmark = pytest.mark.e2e


def wait_until(check, timeout=30.0, interval=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def test_make_run_without_a_broker_says_so_and_exits_quickly(tmp_path):
    env = {**os.environ, "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "CRM_VAR_DIR": str(tmp_path)}
    started = time.time()
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "crm_common.suite", "run"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert time.time() - started < 15
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "RabbitMQ is not reachable" in lines[0] and "AMQP_URI" in lines[0]
    assert "guest:guest" not in lines[0]  # no credentials in messages


def test_health_ready_and_docs(suite):
    assert suite.get("/healthz").json() == {"status": "ok"}
    ready = suite.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"]) == {"identity", "sales", "service_desk", "marketing", "analytics", "automation", "integration"}
    spec = suite.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/v1/me" in spec["paths"]
    assert suite.get("/docs").status_code == 200


def test_request_id_reaches_the_response_and_problems_are_json(suite):
    response = suite.get("/api/v1/does-not-exist", headers={"X-Request-ID": "e2e-request-0001"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "e2e-request-0001"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["request_id"] == "e2e-request-0001"
    malformed = suite.post("/api/v1/auth/login", data="{oops", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.headers["Content-Type"] == "application/problem+json"


def test_a_stopped_service_is_a_503_and_ready_again_after_restart(suite, admin):
    suite.suite.stop_one("analytics")
    try:
        response = suite.get("/readyz", timeout=15)
        assert response.status_code == 503
        assert response.json()["missing"] == ["analytics"]
    finally:
        suite.suite.start(only=["analytics"])
    assert wait_until(lambda: suite.get("/readyz").status_code == 200, timeout=60)


def test_a_stopped_service_behind_a_route_answers_503_within_the_timeout(suite, admin):
    suite.suite.stop_one("identity")
    try:
        started = time.time()
        response = admin.get("/api/v1/me", timeout=30)
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert time.time() - started < 15
    finally:
        suite.suite.start(only=["identity"])
    assert wait_until(lambda: suite.get("/readyz").status_code == 200, timeout=60)


def test_services_and_gateway_reconnect_after_every_broker_connection_is_closed(suite, admin):
    vhost = suite.suite.env["AMQP_URI"].rsplit("/", 1)[-1]
    assert admin.get("/api/v1/me").status_code == 200
    assert close_connections(vhost) > 0
    # no restart: the gateway's pooled proxies and every service's consumers come back by themselves
    assert wait_until(lambda: suite.get("/readyz").status_code == 200, timeout=60)
    assert wait_until(lambda: admin.get("/api/v1/me").status_code == 200, timeout=30)
    assert all(proc.poll() is None for proc in suite.suite.procs.values())


def test_make_run_starts_everything_and_sigterm_stops_everything(tmp_path):
    from crm_common.testing.harness import Vhost

    vhost = Vhost().create()
    port = free_port()
    env = {**os.environ, "AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp_path), "CRM_PORT": str(port),
           "CRM_ADMIN_EMAIL": "", "CRM_ADMIN_PASSWORD": "", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "crm_common.suite", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "CRM suite ready" in line:
                break
        output = "".join(lines)
        assert "CRM suite ready" in output, output[-3000:]
        assert f"http://127.0.0.1:{port}" in output
        assert "administrator: admin@crm.local password:" in output  # generated once, shown once
        children = _children(proc.pid)
        assert len(children) >= 6
        proc.send_signal(15)
        assert proc.wait(30) == 0
        time.sleep(0.5)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if proc.poll() is None:  # a failure above: nothing of this suite may outlive the test (ports, files)
            for pid in _children(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            proc.kill()
        vhost.delete_users()
        vhost.delete()


def _children(pid: int) -> list[int]:
    """Every process below `pid`: the services are the fork server's children (crm_common.suite_fork)."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,ppid"], capture_output=True, text=True).stdout.split("\n")[1:]
    rows = [tuple(int(x) for x in line.split()) for line in out if line.strip()]
    found, parents = [], {pid}
    while parents:
        below = [p for p, _g, ppid in rows if ppid in parents and p not in found]
        found += below
        parents = set(below)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(status) and not status.startswith("Z")
