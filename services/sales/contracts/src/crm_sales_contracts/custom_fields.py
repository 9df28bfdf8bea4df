"""The custom field definitions of leads, accounts, contacts and opportunities (crm_common.contracts.records)."""
from crm_common.contracts.records import custom_field_contracts

CUSTOM_FIELDS = custom_field_contracts("sales")
