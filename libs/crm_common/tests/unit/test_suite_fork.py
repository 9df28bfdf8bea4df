"""`make run`'s services come from a fork server (crm_common.suite_fork): each child runs nameko's command line
with the environment the supervisor sent, in a session of its own, its output on its own pipe; its exit is
reported as a Popen's would be; and no child outlives the server."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from crm_common.suite_fork import ForkServer

SERVICE = '''
from nameko.rpc import rpc


class Idle:
    name = "idle"

    @rpc
    def ping(self):
        return "pong"
'''
BROKEN = 'raise RuntimeError("broken at import")\n'
# a broker nobody listens on: `nameko run` keeps retrying, a child that runs until it is stopped
CONFIG = "AMQP_URI: ${AMQP_URI:amqp://guest:guest@127.0.0.1:1/}\nWHO: ${CRM_FORK_TEST:nobody}\n"


@pytest.fixture
def server(tmp_path):
    (tmp_path / "idle_service.py").write_text(SERVICE)
    (tmp_path / "broken_service.py").write_text(BROKEN)
    (tmp_path / "config.yaml").write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("AMQP_URI", None)
    forks = ForkServer(env, tmp_path)
    yield forks, env, tmp_path
    forks.close()


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie waits for its (new) parent to reap it: it runs no more


def test_a_child_runs_nameko_with_the_environment_it_was_sent(server):
    forks, env, folder = server
    child = forks.spawn(["show-config", "--config", "config.yaml"], {**env, "CRM_FORK_TEST": "sales"}, folder)
    assert child.wait(60) == 0
    assert b"WHO: sales" in child.stdout.read()
    other = forks.spawn(["show-config", "--config", "config.yaml"], env, folder)
    assert other.wait(60) == 0 and b"WHO: nobody" in other.stdout.read()  # nothing left over from the first


def test_a_failing_child_reports_its_error_and_status(server):
    forks, env, folder = server
    child = forks.spawn(["run", "broken_service:Service", "--config", "config.yaml"], env, folder)
    assert child.wait(60) == 1
    assert b"RuntimeError: broken at import" in child.stdout.read()


def test_a_child_leads_its_own_group_and_a_kill_is_reported_as_popen_would(server):
    forks, env, folder = server
    child = forks.spawn(["run", "idle_service:Idle", "--config", "config.yaml"], env, folder)
    assert child.poll() is None
    assert os.getpgid(child.pid) == child.pid and os.getsid(child.pid) == child.pid
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    again = forks.spawn(["run", "idle_service:Idle", "--config", "config.yaml"], env, folder)  # a restart
    assert again.pid != child.pid and again.poll() is None
    os.killpg(again.pid, signal.SIGTERM)
    assert again.wait(30) is not None


def test_no_child_outlives_its_server(server):
    forks, env, folder = server
    child = forks.spawn(["run", "idle_service:Idle", "--config", "config.yaml"], env, folder)
    os.kill(forks.proc.pid, signal.SIGKILL)  # the server dies: its children are stopped and reported dead
    assert child.wait(10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not gone(child.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(child.pid)
    assert not forks.alive
    with pytest.raises(RuntimeError):
        forks.spawn(["show-config", "--config", "config.yaml"], env, folder)


def test_closing_the_server_stops_its_children(server):
    forks, env, folder = server
    child = forks.spawn(["run", "idle_service:Idle", "--config", "config.yaml"], env, folder)
    forks.close()
    assert forks.proc.poll() == 0
    assert child.wait(10) is not None and gone(child.pid)
