"""Real infrastructure for integration tests: a vhost and databases of the run's own, service processes."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from crm_common.config import repo_root

PG_ADMIN_DSN = os.environ.get("CRM_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_HOST = os.environ.get("CRM_TEST_AMQP_HOST", "guest:guest@127.0.0.1:5672")


def run_id() -> str:
    return uuid.uuid4().hex[:10]


class Vhost:
    """A RabbitMQ vhost of this test run's own, removed afterwards."""

    def __init__(self, name: str | None = None):
        self.name = name or f"crm_test_{run_id()}"

    @property
    def uri(self) -> str:
        return f"amqp://{AMQP_HOST}/{self.name}"

    def create(self) -> "Vhost":
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def delete(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)

    def delete_users(self) -> None:
        """The broker users `make run` (crm_common.suite) made for this vhost, if any."""
        from crm_common import brokerusers
        brokerusers.delete(brokerusers.default_prefix(self.uri))


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL, timeout=60)


def close_connections(vhost: str) -> int:
    """Force-close every client connection of a vhost (the broker-failure test)."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "vhost"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    closed = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] == vhost:
            subprocess.run(["rabbitmqctl", "-q", "close_connection", parts[0], "test: forced close"],
                           stdout=subprocess.DEVNULL, timeout=60)
            closed += 1
    return closed


class PgDatabases:
    """PostgreSQL databases of this run's own (one per service), dropped afterwards."""

    def __init__(self, services, prefix: str | None = None):
        self.prefix = prefix or f"crm_test_{run_id()}"
        self.services = list(services)

    def url(self, service: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.prefix}_{service}"

    def _admin(self):
        import psycopg2
        conn = psycopg2.connect(PG_ADMIN_DSN)
        conn.autocommit = True
        return conn

    def create(self) -> "PgDatabases":
        conn = self._admin()
        with conn.cursor() as cur:
            for service in self.services:
                cur.execute(f'CREATE DATABASE "{self.prefix}_{service}"')
        conn.close()
        return self

    def drop(self) -> None:
        conn = self._admin()
        with conn.cursor() as cur:
            for service in self.services:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{service}" WITH (FORCE)')
        conn.close()


@contextlib.contextmanager
def database_url(backend: str, service: str, directory: Path):
    """The URL of an empty database of `service` of its own: a SQLite file under `directory`, or a PostgreSQL
    database dropped afterwards (a test on both backends)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'{service}.db'}"
        return
    databases = PgDatabases([service]).create()
    try:
        yield databases.url(service)
    finally:
        databases.drop()


@contextlib.contextmanager
def database_engine(backend: str, service: str, metadata, tmp_path: Path, **engine_options):
    """An engine over an empty database of `service` (`database_url`) holding `metadata`'s tables (None: no
    tables, for a test that migrates it). `engine_options` go to `db.make_engine` (a pool of one connection,
    say)."""
    from crm_common.db import make_engine
    with database_url(backend, service, tmp_path) as url:
        engine = make_engine(url, **engine_options)
        try:
            if metadata is not None:
                metadata.create_all(engine)
            yield engine
        finally:
            engine.dispose()


@contextlib.contextmanager
def rolled_back_session(engine):
    """A session in one open transaction over `engine`, rolled back at the end: a domain test's writes, the way
    an entrypoint's transaction holds them (objects stay readable after a commit inside the test)."""
    from sqlalchemy.orm import Session
    with Session(engine, expire_on_commit=False) as session:
        session.begin()
        yield session
        session.rollback()


def bus_key_for(env: dict, default_dir: Path) -> Path:
    """The bus key file of a test's services (env's CRM_BUS_KEY_FILE, else under its CRM_VAR_DIR), made if missing."""
    from crm_common import callers
    path = env.get("CRM_BUS_KEY_FILE") or Path(env.get("CRM_VAR_DIR") or default_dir) / "keys" / "bus.key"
    return callers.generate_key_file(Path(path))


class ServiceProcess:
    """`nameko run` of one service class in a process of its own."""

    def __init__(self, target: str, env: dict, log_dir: Path, name: str | None = None,
                 config: Path | None = None):
        self.target = target
        self.env = env
        self.name = name or target.rsplit(":", 1)[-1].split(".")[-1]
        self.log_path = Path(log_dir) / f"{self.name}.log"
        self.config = config or repo_root() / "services" / "identity" / "config.yaml"
        self.proc: subprocess.Popen | None = None
        self.env = {**env, "CRM_BUS_KEY_FILE": str(bus_key_for(env, log_dir))}

    def start(self) -> "ServiceProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        cmd = [sys.executable, "-m", "nameko", "run", self.target, "--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(repo_root()))
        return self

    def wait_ready(self, service_name: str, timeout: float = 30) -> None:
        from crm_common.errors import ServiceError
        from crm_common.rpcclient import RpcPool

        pool = RpcPool(amqp_uri=self.env["AMQP_URI"], timeout=1.0, size=1, key_file=self.env["CRM_BUS_KEY_FILE"])
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
                try:
                    pool.call(service_name, "health")
                    return
                except ServiceError:
                    time.sleep(0.2)
            raise TimeoutError(f"{self.name} not ready: {self.log_path.read_text()[-3000:]}")
        finally:
            pool.close()

    def stop(self, sig=signal.SIGTERM, timeout: float = 3) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)


NOTABLE = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Error:")


def suite_report(suite, lines: int = 12) -> str:
    """What a failed test of a whole suite needs to be understood: each process, alive or how it ended, and the
    last warnings and errors its log holds (a suite that does not recover says why here, not in a later run)."""
    report = []
    for name, proc in sorted(suite.procs.items()):
        state = "running" if proc.poll() is None else f"exited with {proc.returncode}"
        report.append(f"== {name} (pid {proc.pid}): {state}")
        path = suite.log_dir / f"{name}.log" if suite.log_dir else None
        if path is not None and path.exists():
            with open(path, errors="replace") as log:
                notable = [line.rstrip()[:300] for line in log if any(mark in line for mark in NOTABLE)]
            report += notable[-lines:]
    return "\n".join(report)
