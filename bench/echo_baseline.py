"""(a) of bench_gateway_paths.py: the bare nameko echo service (echo_service.py) on a vhost of its own and the
thinnest Flask gateway in front of it (thin_gateway.py) under gunicorn 2 x 8."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from crm_common.ports import free_port
from crm_common.testing.harness import ServiceProcess, Vhost

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def wait_http(port: int, path: str, timeout: float, headers: dict | None = None, procs=()) -> None:
    import requests
    deadline = time.time() + timeout
    while time.time() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a process exited with {proc.returncode} while starting")
        try:
            if requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"nothing answered 200 at :{port}{path} within {timeout:.0f} s")


@contextlib.contextmanager
def baseline(tmp: Path):
    """(a): the echo service on a vhost of its own and the thin gateway in front of it; yields (its port, the pids of
    the thin gateway (its process group) and the echo service by name)."""
    vhost = Vhost().create()
    echo = gateway = None
    try:
        env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "PYTHONPATH": str(ROOT / "bench")}
        echo = ServiceProcess("echo_service:EchoService", env, tmp, name="bench_echo").start()
        echo.wait_ready("bench_echo")
        port = free_port()
        with open(tmp / "thin_gateway.log", "ab") as log:
            gateway = subprocess.Popen(
                [GUNICORN, "-k", "gthread", "-w", "2", "--threads", "8", "--keep-alive", "5",
                 "-b", f"127.0.0.1:{port}", "thin_gateway:app"],
                env={**os.environ, "BENCH_ECHO_AMQP_URI": vhost.uri, "PYTHONWARNINGS": "ignore"},
                cwd=ROOT / "bench", stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(port, "/echo", 30, procs=[gateway])
        yield port, {"thin gateway": gateway.pid, "echo": echo.proc.pid}
    finally:
        if gateway is not None:
            _stop(gateway)
        if echo is not None:
            echo.stop()
        vhost.delete()


def _stop(proc: subprocess.Popen) -> None:
    import signal
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
