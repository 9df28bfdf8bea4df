"""How automation acts on other services' records: their RPC methods, signed with the bus key, as the
automation actor (never their tables). Each call carries a request id naming the chain depth
(`automation:<depth>:<run id>`), which the events of the change carry back: the loop guard reads it there."""
from __future__ import annotations

from crm_common import config
from crm_common.context import Actor

REQUEST_PREFIX = "automation:"
_RESOURCES = ("lead", "account", "contact", "opportunity", "quote", "contract", "activity", "ticket", "complaint",
              "comment")
# what workflows may do on others' records: read, create and update all (an administrator defines workflows)
ACTOR = Actor(user_id=None, kind="service", email=None, roles=("automation",),
              perms={**{r: {"read": "all", "create": "all", "update": "all", "assign": "all"} for r in _RESOURCES},
                     "user": {"read": "all"}, "team": {"read": "all"}})


def request_id(depth: int, run_id: str) -> str:
    return f"{REQUEST_PREFIX}{depth}:{run_id}"


def depth_of(request_id: str | None) -> int:
    """How many workflow changes led to an event (0: a person's or another service's own change)."""
    if not isinstance(request_id, str) or not request_id.startswith(REQUEST_PREFIX):
        return 0
    try:
        return int(request_id[len(REQUEST_PREFIX):].split(":", 1)[0])
    except ValueError:
        return 0


class Bus:
    """One RPC pool per process (lazily: a process that only imports the module opens nothing)."""

    def __init__(self, pool=None):
        self._pool = pool

    @property
    def pool(self):
        if self._pool is None:
            from crm_common.rpcclient import RpcPool
            self._pool = RpcPool(timeout=config.env_float("CRM_AUTOMATION_RPC_TIMEOUT", 10.0), size=8)
        return self._pool

    def call(self, service: str, method: str, payload=None, record_id: str | None = None, request: str | None = None):
        kwargs = {"id": record_id} if record_id is not None else {}
        return self.pool.call(service, method, payload, actor=ACTOR, request_id=request, **kwargs)
