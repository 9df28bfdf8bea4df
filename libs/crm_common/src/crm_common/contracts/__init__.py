"""Contract mechanics: the registry, the kernel's own events, one set of field types and schema bases.

Each service's contracts live in its own package (`services/<name>/contracts`, `crm_<name>_contracts`),
registered under the entry point group `crm.contracts`; `load_all()` imports every installed one (the
gateway's document, the topology's clean-up of stale bindings)."""
import functools

from crm_common.contracts.registry import EVENTS, RPCS, event, event_contract, rpc, validate_event_data  # noqa: F401
from crm_common.contracts import platform  # noqa: F401,E402

ENTRY_POINTS = "crm.contracts"


@functools.lru_cache(maxsize=1)
def load_all() -> tuple[str, ...]:
    """Import every installed service's contracts package; the names of the services found."""
    from importlib.metadata import entry_points
    found = []
    for point in entry_points(group=ENTRY_POINTS):
        point.load()
        found.append(point.name)
    return tuple(sorted(found))
