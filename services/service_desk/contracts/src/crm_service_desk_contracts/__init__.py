"""Contracts of the service_desk service (moving here from crm_common.contracts.service_desk)."""
from crm_common.contracts.service_desk import *  # noqa: F401,F403
