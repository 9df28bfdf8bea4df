"""One RPC call straight onto the bus, as another service would make it (tests of what the gateway does
not route, e.g. the mailer asking the service desk for a survey token)."""
from __future__ import annotations

from crm_common.callers import OPERATOR
from crm_common.context import Actor
from crm_common.rpcclient import RpcPool


def call(amqp_uri: str, key_file: str, service: str, method: str, *args, actor: Actor = OPERATOR, **kwargs):
    """Signed with the suite's bus key as `actor` (an operator's tool by default)."""
    pool = RpcPool(amqp_uri, timeout=10, size=1, key_file=key_file)
    try:
        return pool.call(service, method, *args, actor=actor, **kwargs)
    finally:
        pool.close()
