"""Contracts of the sales service (moving here from crm_common.contracts.sales)."""
from crm_common.contracts.sales import *  # noqa: F401,F403
