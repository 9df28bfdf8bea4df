"""What is about the sales service as a whole: the audit event of records without events of their own, its
answer to privacy requests, and the operators' calls that run a timer's work now."""
from __future__ import annotations

from crm_common.contracts.platform import RecordChangedData, privacy_part_completed
from crm_common.contracts.registry import FROM_DATA, event, rpc

RECORD_CHANGED = event("sales", "record_changed", 1, RecordChangedData,
                       "A sales record without an event of its own (a deleted lead, a product, a target, an "
                       "expense...) was created, changed or deleted.", entity=FROM_DATA, action=FROM_DATA)
PRIVACY_PART_COMPLETED = privacy_part_completed("sales", entity="privacy_request", action="export")

# no route: operators and tests call these (administrators only, the service checks)
RUN_DAILY = rpc("sales", "run_daily", None, None,
                description="The daily work now: contracts start, expire and remind; accounts without orders churn.")
RUN_REMINDERS = rpc("sales", "run_reminders", None, None,
                    description="The activity reminder scan now: how many reminders went out.")
