"""Shared fixtures: real infrastructure of the run's own (vhost, databases) and the running suite.

Integration and end-to-end tests run once per backend: `sqlite` (files in a temp dir) and
`postgresql` (databases created for the run, dropped afterwards). Set CRM_TEST_BACKENDS=sqlite to
run only one.
"""
from __future__ import annotations

import os
import warnings

import pytest

warnings.filterwarnings("ignore", message=r".*[Ee]ventlet.*")

from crm_common import config  # noqa: E402
from crm_common.testing.harness import PgDatabases, Vhost  # noqa: E402
from crm_common.ports import free_port  # noqa: E402

BACKENDS = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
ADMIN_EMAIL = "admin@crm.test"
ADMIN_PASSWORD = "Admin-Passw0rd-For-Tests!"


def suite_env(vhost, var) -> dict:
    """The settings of a suite started by a test: its own vhost, var folder and port, short retries, and
    limits out of the way of tests that log in and call many times from 127.0.0.1."""
    return {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(var), "CRM_PORT": str(free_port()),
            "CRM_ADMIN_EMAIL": ADMIN_EMAIL, "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD, "CRM_RETRY_DELAYS": "0.2,0.5",
            "CRM_GATEWAY_WORKERS": "2", "CRM_GATEWAY_THREADS": "8", "CRM_RPC_TIMEOUT": "10",
            "CRM_OUTBOX_RELAY_INTERVAL": "0.5", "CRM_SALES_REMINDER_INTERVAL": "1",
            # every e2e client comes from 127.0.0.1: one address budget for the whole run would trip
            # the per-address login throttle (its own tests use a low limit of their own)
            "CRM_LOGIN_ADDRESS_LIMIT": "1000", "CRM_TOKEN_CUTOFF_CACHE": "1",
            # and the gateway's rate limits likewise (tests/e2e/test_gateway_edge.py runs a low one)
            "CRM_RATE_LIMIT": "100000/minute", "CRM_RATE_LIMIT_ANONYMOUS": "100000/minute",
            "CRM_RATE_LIMIT_READYZ": "100000/minute", "CRM_RATE_LIMIT_FORMS": "100000/minute",
            "CRM_RATE_LIMIT_TRACKING": "100000/minute",
            # a test may run a second suite (replicas, two gateways) beside the session's, on one PostgreSQL
            # of max_connections 100: each pool keeps 2 connections open, and opens more for a burst only
            "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "18",
            # webhooks: the tests' receivers listen on loopback (allowed here only); retries in fractions of a
            # second; no DNS query leaves the machine either
            "CRM_WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "CRM_WEBHOOK_TICK": "0.1", "CRM_WEBHOOK_RETRY_BASE": "0.2",
            "CRM_WEBHOOK_RETRY_CAP": "1", "CRM_WEBHOOK_DNS": "off"}


@pytest.fixture
def fresh_suite_env(tmp_path):
    """Settings for a suite a test starts and stops itself (SQLite, a vhost of its own, removed after)."""
    vhost = Vhost().create()
    try:
        yield suite_env(vhost, tmp_path / "var")
    finally:
        vhost.delete()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def suite(backend, tmp_path_factory):
    """The whole suite (every service and the gateway) on its own vhost and databases."""
    from crm_common.suite import Suite
    from crm_common.testing.client import ApiClient

    vhost = Vhost().create()
    var = tmp_path_factory.mktemp(f"suite-{backend}")
    env = suite_env(vhost, var)
    pg = None
    if backend == "postgresql":
        pg = PgDatabases(list(config.SERVICES) + ["gateway"]).create()
        for name in pg.services:
            env[f"{name.upper()}_DATABASE_URL"] = pg.url(name)
    catcher = _mail_catcher(env, var)  # the marketing service's mail, kept as .eml files under var/mail/
    the_suite = Suite(env=env, quiet=True, log_dir=var / "logs")
    try:
        the_suite.bootstrap()
        the_suite.start()
        the_suite.wait_ready(90)
        client = ApiClient(f"http://127.0.0.1:{the_suite.port}")
        client.suite = the_suite
        client.backend = backend
        client.admin_email, client.admin_password = ADMIN_EMAIL, ADMIN_PASSWORD
        yield client
    finally:
        the_suite.stop()
        the_suite.remove_broker_users()
        vhost.delete()
        if pg is not None:
            pg.drop()
        if catcher is not None:
            catcher.stop()


def _mail_catcher(env: dict, var):
    """An SMTP server in this process keeping every message as `var/mail/*.eml` (CRM_MAIL_DIR), for a suite
    that starts no mail catcher of its own; None when the suite starts one (crm_common.suite)."""
    import inspect
    import uuid as _uuid

    from crm_common.suite import Suite
    if "mail_port" in inspect.signature(Suite).parameters:
        return None
    from aiosmtpd.controller import Controller
    directory = var / "mail"
    directory.mkdir(parents=True, exist_ok=True)

    class Keeper:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            head = f"X-Catcher-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
            temporary = directory / f".{_uuid.uuid4().hex}.tmp"
            temporary.write_bytes(head + envelope.original_content)
            temporary.replace(directory / f"{_uuid.uuid4().hex}.eml")
            return "250 OK"

    port = free_port()
    controller = Controller(Keeper(), hostname="127.0.0.1", port=port)
    controller.start()
    env.update(CRM_SMTP_URL=f"smtp://127.0.0.1:{port}", CRM_MAIL_DIR=str(directory))
    return controller


@pytest.fixture(autouse=True)
def _ordered_ids_in_real_time():
    """The ordered ids keep the latest millisecond they were made in and never go back (ids.new_ordered_id): a test
    that moved the clock forward (time_machine) would leave every later test's ids in its future."""
    from crm_common import ids
    kept = ids._current
    yield
    ids._current = kept


@pytest.fixture(scope="session")
def admin(suite):
    """An ApiClient logged in as the seeded administrator."""
    return suite.login(suite.admin_email, suite.admin_password)


def _backend_of(item):
    return getattr(getattr(item, "callspec", None), "params", {}).get("backend")


def _shard_of(item) -> str:
    """The shard of `make test` that runs `item`: sqlite or postgresql (a test run once per backend: its run on
    that backend), or once (the rest: unit tests, and the tests that start services of their own, some of them
    on PostgreSQL alone). The fuzzing on PostgreSQL goes to the once shard too, on a suite of its own there:
    the longest test of the longest shard, on the shard with the most time to spare."""
    callspec = getattr(item, "callspec", None)
    ids = callspec.id.split("-") if callspec is not None else ()
    if "postgresql" in ids:
        return "once" if item.get_closest_marker("fuzz") else "postgresql"
    return "sqlite" if "sqlite" in ids else "once"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Fuzzing goes last on each backend's suite: it leaves arbitrary settings, SLA policies and rules
    behind (all valid, all applied), which other tests must not inherit.

    CRM_TEST_SHARD=sqlite|postgresql|once keeps only that shard's tests (`_shard_of`; tests/shards.py runs the
    three at once); CRM_TEST_EXCLUSIVE=skip leaves out the tests marked `exclusive` (they restart the broker
    every shard shares) and =only keeps just those."""
    shard, exclusive = os.environ.get("CRM_TEST_SHARD"), os.environ.get("CRM_TEST_EXCLUSIVE")
    keep = {None: lambda item: True, "skip": lambda item: not item.get_closest_marker("exclusive"),
            "only": lambda item: bool(item.get_closest_marker("exclusive"))}[exclusive]
    if "postgresql" not in BACKENDS:
        for item in items:
            if item.get_closest_marker("postgresql"):
                item.add_marker(pytest.mark.skip(reason="runs on PostgreSQL alone (CRM_TEST_BACKENDS leaves it out)"))
    kept = [item for item in items if keep(item) and (not shard or _shard_of(item) == shard)]
    if len(kept) < len(items):
        chosen = set(map(id, kept))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in chosen])
        items[:] = kept
    for fuzz in [item for item in items if item.get_closest_marker("fuzz")]:
        items.remove(fuzz)
        same = [i for i, item in enumerate(items) if _backend_of(item) == _backend_of(fuzz)]
        items.insert(same[-1] + 1 if same else len(items), fuzz)
