"""Contracts owned by the analytics service: its events and RPC schemas."""
from crm_common.contracts.identity import PrivacyPartSchema
from crm_common.contracts.registry import event

PRIVACY_PART_COMPLETED = event("analytics", "privacy_part_completed", 1, PrivacyPartSchema,
                               "The analytics service's part of a privacy request is done.")
