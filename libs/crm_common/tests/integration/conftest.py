"""Probe services on a vhost and databases of the test's own (SQLite files, or PostgreSQL databases)."""
from __future__ import annotations

import os

import pytest

from crm_common.db import make_engine
from crm_common.rpcclient import RpcPool
from crm_common.testing import probe
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost, bus_key_for

PRODUCER = "crm_common.testing.probe:ProbeProducer"
CONSUMER = "crm_common.testing.probe:ProbeConsumer"


class ProbeWorld:
    """A producer and a consumer service, their databases and an RPC pool, on a private vhost."""

    def __init__(self, backend: str, tmp_path):
        self.backend = backend
        self.tmp = tmp_path
        self.vhost = Vhost().create()
        self.pg = None
        self.env = {"AMQP_URI": self.vhost.uri, "CRM_VAR_DIR": str(tmp_path),
                    "CRM_EXTRA_SUBSCRIPTIONS": "probe_consumer=probe_producer",
                    "CRM_RETRY_DELAYS": "0.2,0.4", "CRM_OUTBOX_RELAY_INTERVAL": "0.3"}
        if backend == "postgresql":
            self.pg = PgDatabases(["probe_producer", "probe_consumer"]).create()
            urls = {name: self.pg.url(name) for name in self.pg.services}
        else:
            urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("probe_producer", "probe_consumer")}
        for name, url in urls.items():
            self.env[f"{name.upper()}_DATABASE_URL"] = url
            engine = make_engine(url)
            probe.Base.metadata.create_all(engine)
            engine.dispose()
        self.procs: dict[str, ServiceProcess] = {}
        self.env["CRM_BUS_KEY_FILE"] = str(bus_key_for(self.env, tmp_path))
        self.pool = RpcPool(self.vhost.uri, timeout=10, key_file=self.env["CRM_BUS_KEY_FILE"])

    def start(self, which: str, **extra_env) -> ServiceProcess:
        target, name = (PRODUCER, "probe_producer") if which == "producer" else (CONSUMER, "probe_consumer")
        proc = ServiceProcess(target, {**self.env, **extra_env}, self.tmp, name=name).start()
        proc.wait_ready(name)
        self.procs[which] = proc
        return proc

    def declare_consumer_queue(self) -> None:
        os.environ["CRM_RETRY_DELAYS"] = self.env["CRM_RETRY_DELAYS"]
        from crm_common import topology
        topology.declare({"probe_consumer": ("probe_producer",)}, uri=self.vhost.uri)

    def call(self, service: str, method: str, *args, **kwargs):
        return self.pool.call(service, method, *args, **kwargs)

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        self.pool.close()
        self.vhost.delete()
        if self.pg is not None:
            self.pg.drop()


@pytest.fixture
def world(backend, tmp_path):
    w = ProbeWorld(backend, tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(scope="module")
def running_world(backend, tmp_path_factory):
    """Producer and consumer already running, shared by the tests of a module (distinct keys)."""
    w = ProbeWorld(backend, tmp_path_factory.mktemp("world"))
    try:
        w.start("producer")
        w.start("consumer")
        yield w
    finally:
        w.close()
