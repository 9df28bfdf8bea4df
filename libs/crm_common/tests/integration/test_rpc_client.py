"""The gateway's RPC client against the real broker: answers reach their own caller, a service with no
consumer is a 503 at once, a slow one a timeout whose late reply never reaches the next call."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from crm_common.errors import ServiceError
from crm_common.rpcclient import RpcPool

pytestmark = pytest.mark.integration


def test_concurrent_calls_each_get_their_own_answer(running_world):
    pool = RpcPool(running_world.vhost.uri, timeout=10, size=4, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    wrong, errors = [], []

    def caller(n):
        for i in range(40):
            value = f"{n}-{i}"
            try:
                answer = pool.call("probe_producer", "echo", value)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
                continue
            if answer != value:
                wrong.append((value, answer))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        pool.close()
    assert errors == [] and wrong == []


def test_a_call_changes_no_timeout_of_its_connections_socket(running_world, monkeypatch):
    """amqp set a read timeout and put the old one back around every frame it read, and read the socket without
    waiting before each publish: each change a system call that lets the GIL go, about eight a call. A member's
    socket keeps the call timeout it was given when it connected."""
    pool = RpcPool(running_world.vhost.uri, timeout=10, size=1, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    changes = []
    try:
        assert pool.call("probe_producer", "echo", "first") == "first"  # the member connects (its socket set once)
        for name in ("settimeout", "setblocking"):
            real = getattr(socket.socket, name)
            monkeypatch.setattr(socket.socket, name,
                                lambda self, value, real=real, name=name: (changes.append((name, value)), real(self, value))[1])
        for n in range(3):
            assert pool.call("probe_producer", "echo", f"again-{n}") == f"again-{n}"
    finally:
        monkeypatch.undo()
        pool.close()
    assert changes == []


def test_a_member_whose_channel_was_closed_answers_the_next_call_on_a_new_connection(running_world):
    """The publish reads what the broker sent meanwhile only when something is unread: a channel the broker closed
    (a publish to an exchange that does not exist) or one closed here is found before the request goes out, and
    the call goes once more on a new connection instead of failing."""
    import amqp
    pool = RpcPool(running_world.vhost.uri, timeout=10, size=1, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    try:
        for breaks in ("by the broker", "here"):
            assert pool.call("probe_producer", "echo", "first") == "first"
            member = pool._take()
            if breaks == "here":
                member.channel.close()
            else:
                member.channel.basic_publish(amqp.Message(b"x"), exchange="crm-no-such-exchange", routing_key="x")
                time.sleep(0.3)  # the broker's channel.close is on the socket, unread
            pool._give_back(member)
            assert pool.call("probe_producer", "echo", f"after, closed {breaks}") == f"after, closed {breaks}"
    finally:
        pool.close()


def test_a_service_nobody_consumes_is_unavailable_at_once_and_the_pool_goes_on(running_world):
    pool = RpcPool(running_world.vhost.uri, timeout=10, size=1, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    try:
        started = time.monotonic()
        with pytest.raises(ServiceError) as raised:
            pool.call("nobody_here", "echo", "x")
        assert raised.value.code == "unavailable"
        assert "not running" in raised.value.detail
        assert time.monotonic() - started < 2  # the broker returned it; no waiting for the 10 s timeout
        assert pool.call("probe_producer", "echo", "after") == "after"
    finally:
        pool.close()


def test_a_late_reply_is_a_timeout_and_never_reaches_the_next_call(running_world):
    pool = RpcPool(running_world.vhost.uri, timeout=1, size=1, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    try:
        started = time.monotonic()
        with pytest.raises(ServiceError) as raised:
            pool.call("probe_producer", "pause", 2)
        assert raised.value.code == "timeout"
        assert 0.9 < time.monotonic() - started < 1.9
        time.sleep(1.5)  # the late answer (2) is sent now
        assert pool.call("probe_producer", "echo", "next") == "next"
    finally:
        pool.close()


def test_a_slow_postgresql_query_does_not_stop_the_services_other_calls(running_world):
    # nameko runs services under eventlet.monkey_patch(), which also makes psycopg2 wait through the hub
    if running_world.backend != "postgresql":
        pytest.skip("a SQLite query runs inside the process; only a PostgreSQL one waits on a server")
    pool = RpcPool(running_world.vhost.uri, timeout=10, size=2, key_file=running_world.env["CRM_BUS_KEY_FILE"])
    slow = {}

    def run_slow():
        began = time.monotonic()
        slow["answer"] = pool.call("probe_producer", "slow_query", 2.0)
        slow["took"] = time.monotonic() - began

    thread = threading.Thread(target=run_slow)
    try:
        thread.start()
        time.sleep(0.4)  # the query is running in the service now
        began = time.monotonic()
        assert pool.call("probe_producer", "echo", "meanwhile") == "meanwhile"
        assert time.monotonic() - began < 1.0  # answered while the query still runs, not after it
        thread.join(10)
    finally:
        pool.close()
    assert slow["answer"] == 2.0 and slow["took"] >= 2.0
