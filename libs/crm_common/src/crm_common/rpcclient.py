"""RPC clients outside a nameko service: a thread-safe pool of standalone proxies, a timeout on every call.

One ClusterRpcProxy must not be shared by threads, so the pool hands each call a proxy of its own.
A service that does not answer within the timeout gives ServiceError("timeout"); a broker that is
away gives ServiceError("unavailable"). Broken proxies are dropped and replaced.
"""
from __future__ import annotations

import logging
import queue
import threading

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from crm_common import bus, config  # noqa: F401 - bus: kombu tuning on import
from crm_common.context import Actor, context_data
from crm_common.errors import ServiceError

log = logging.getLogger(__name__)
# amqp warns about frames that arrive while a proxy closes its channel; they are harmless here
logging.getLogger("amqp").setLevel(logging.ERROR)


class _Broken(Exception):
    """The proxy's connection failed under the call."""


class _Member:
    def __init__(self, amqp_uri: str, timeout: float):
        self.runner = ClusterRpcProxy({"AMQP_URI": amqp_uri, "SERIALIZER": "json"}, timeout=timeout)
        self.proxy = self.runner.start()

    def call(self, service, method, args, kwargs, data):
        self.runner._worker_ctx.data = dict(data)  # this call's actor and request id travel as headers
        return getattr(getattr(self.proxy, service), method)(*args, **kwargs)

    def close(self):
        try:
            self.runner.stop()
        except Exception:  # already broken; nothing left to release
            log.debug("stopping a proxy failed", exc_info=True)


class RpcPool:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None, size: int = 16):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = timeout if timeout is not None else config.rpc_timeout()
        self._idle: queue.LifoQueue[_Member] = queue.LifoQueue()
        self._size = size
        self._lock = threading.Lock()

    def _take(self) -> _Member:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            try:
                return _Member(self.amqp_uri, self.timeout)
            except (OSError, ConnectionError) as exc:
                raise ServiceError("unavailable", "the message broker cannot be reached") from exc

    def _give_back(self, member: _Member) -> None:
        if self._idle.qsize() < self._size:
            self._idle.put(member)
        else:
            member.close()

    def call(self, service: str, method: str, *args, actor: Actor | None = None, request_id: str | None = None,
             **kwargs):
        data = context_data(actor, request_id)
        try:
            return self._call(service, method, args, kwargs, data)
        except _Broken:
            # the pooled connection died (broker restarted, connection closed): one more try on a new one
            try:
                return self._call(service, method, args, kwargs, data)
            except _Broken as exc:
                raise ServiceError("unavailable", "the message broker cannot be reached") from exc

    def _call(self, service, method, args, kwargs, data):
        member = self._take()
        try:
            result = member.call(service, method, args, kwargs, data)
        except ServiceError:
            self._give_back(member)
            raise
        except RpcTimeout as exc:
            member.close()  # a late reply must not reach the next caller
            raise ServiceError("timeout", f"the {service} service did not answer in time") from exc
        except UnknownService as exc:
            self._give_back(member)
            raise ServiceError("unavailable", f"the {service} service is not running") from exc
        except (OSError, ConnectionError, AMQPError, OperationalError) as exc:
            member.close()
            raise _Broken() from exc
        except Exception:
            member.close()
            raise
        self._give_back(member)
        return result

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def call_once(service: str, method: str, *args, timeout: float | None = None, **kwargs):
    pool = RpcPool(timeout=timeout, size=1)
    try:
        return pool.call(service, method, *args, **kwargs)
    finally:
        pool.close()
