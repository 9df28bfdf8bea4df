"""Contracts of the identity service (moving here from crm_common.contracts.identity)."""
from crm_common.contracts.identity import *  # noqa: F401,F403
