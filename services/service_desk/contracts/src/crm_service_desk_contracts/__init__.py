"""Contracts of the service_desk service: its events and the schemas of its RPC methods, by area.

    import crm_service_desk_contracts as c
    c.CREATE_TICKET, c.TicketSchema, c.SLA_BREACHED

The same schemas validate at the gateway (HTTP) and in the service (RPC); the bases and field types are
the kernel's (crm_common.contracts.fields and .schemas).
"""
from crm_common.contracts.platform import privacy_part_completed

from crm_service_desk_contracts.base import *  # noqa: F401,F403
from crm_service_desk_contracts.kb import *  # noqa: F401,F403
from crm_service_desk_contracts.tickets import *  # noqa: F401,F403
from crm_service_desk_contracts.groups import *  # noqa: F401,F403
from crm_service_desk_contracts.service_levels import *  # noqa: F401,F403
from crm_service_desk_contracts.complaints import *  # noqa: F401,F403
from crm_service_desk_contracts.surveys import *  # noqa: F401,F403
from crm_service_desk_contracts.settings import *  # noqa: F401,F403
from crm_service_desk_contracts.custom_fields import *  # noqa: F401,F403
from crm_service_desk_contracts.search import *  # noqa: F401,F403
from crm_service_desk_contracts.macros import *  # noqa: F401,F403

PRIVACY_PART_COMPLETED = privacy_part_completed("service_desk", entity="privacy_request", action="update")
