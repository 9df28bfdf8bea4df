"""The gateway's Flask remembers per function whether a hook or view is a coroutine function: what it remembers
must not mix functions up."""
from __future__ import annotations

from crm_gateway.app import GatewayFlask


class Hooks:
    def plain(self):
        return "plain"

    async def coroutine(self):
        return "coroutine"


def test_plain_functions_and_methods_run_as_they_are():
    app = GatewayFlask("ensure_sync_test")

    def hook():
        return "hook"

    for _ in range(2):  # the second time from what was remembered
        assert app.ensure_sync(hook) is hook
        method = Hooks().plain  # a new bound method object each request, as a MethodView's handler
        assert app.ensure_sync(method) is method


def test_a_coroutine_function_is_never_taken_for_a_plain_one():
    app = GatewayFlask("ensure_sync_test")
    app.ensure_sync(Hooks().plain)  # its class's other method remembered first
    for _ in range(2):
        method = Hooks().coroutine
        try:
            wrapped = app.ensure_sync(method)
        except RuntimeError as exc:  # Flask's async_to_sync without its "async" extra: it was sent there
            assert "async" in str(exc)
        else:
            assert wrapped is not method


def test_an_unhashable_callable_is_checked_each_time():
    class Unhashable:
        __hash__ = None

        def __call__(self):
            return "called"

    app = GatewayFlask("ensure_sync_test")
    target = Unhashable()
    assert app.ensure_sync(target) is target


def test_functions_made_per_call_are_not_kept_beyond_the_bound(monkeypatch):
    count = 3
    monkeypatch.setattr(GatewayFlask, "_sync_checked", {})
    monkeypatch.setattr("crm_gateway.app.SYNC_CHECKS_KEPT", count)
    app = GatewayFlask("ensure_sync_test")
    for n in range(count * 3):
        def made():
            return n
        assert app.ensure_sync(made) is made
    assert len(GatewayFlask._sync_checked) == count
