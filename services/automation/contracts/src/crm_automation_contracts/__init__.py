"""Contracts of the automation service: the events it emits and the schemas of its RPC methods."""
from crm_automation_contracts.notifications import *  # noqa: F401,F403
from crm_automation_contracts.workflows import *  # noqa: F401,F403
from crm_common.contracts.platform import privacy_part_completed

PRIVACY_PART_COMPLETED = privacy_part_completed("automation")
from crm_automation_contracts.approvals import *  # noqa: F401,F403
