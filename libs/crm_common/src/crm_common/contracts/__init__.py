"""Contracts of every service, declared once by their owners. Importing this loads them all."""
from crm_common.contracts.registry import EVENTS, RPCS, event, event_contract, rpc, validate_event_data  # noqa: F401
from crm_common.contracts import platform, identity, sales, service_desk, marketing, analytics  # noqa: F401,E402
