"""Contracts of the marketing service: the events it emits and the schemas of its RPC methods."""
from crm_common.contracts.platform import privacy_part_completed

PRIVACY_PART_COMPLETED = privacy_part_completed("marketing")
