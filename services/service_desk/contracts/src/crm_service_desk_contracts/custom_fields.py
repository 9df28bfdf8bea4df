"""The custom field definitions of tickets and the files on tickets (crm_common.contracts.records), and the audit
event of their changes."""
from crm_common.contracts.platform import RecordChangedData
from crm_common.contracts.records import attachment_contracts, custom_field_contracts
from crm_common.contracts.registry import FROM_DATA, event

CUSTOM_FIELDS = custom_field_contracts("service_desk")
ATTACHMENTS = attachment_contracts("service_desk", ("ticket",))
RECORD_CHANGED = event("service_desk", "record_changed", 1, RecordChangedData,
                       "A service desk record without an event of its own (a custom field definition, a file on a "
                       "ticket) was created, "
                       "changed or deleted.", entity=FROM_DATA, action=FROM_DATA)
