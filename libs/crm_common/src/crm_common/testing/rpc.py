"""One RPC call straight onto the bus, as another service would make it (tests of what the gateway does
not route, e.g. the mailer asking the service desk for a survey token)."""
from __future__ import annotations

from crm_common.context import Actor
from crm_common.rpcclient import RpcPool


def call(amqp_uri: str, service: str, method: str, *args, actor: Actor | None = None, **kwargs):
    pool = RpcPool(amqp_uri, timeout=10, size=1)
    try:
        return pool.call(service, method, *args, actor=actor, **kwargs)
    finally:
        pool.close()
