"""Contracts of the integration service: the events it emits and the schemas of its RPC methods."""
from crm_integration_contracts.feed import FeedItem, FeedPage, FeedQuery, LIST_EVENTS  # noqa: F401
from crm_integration_contracts.webhooks import (  # noqa: F401
    CREATE_WEBHOOK, DELETE_WEBHOOK, GET_WEBHOOK, LIST_ALL_DELIVERIES, LIST_DELIVERIES, LIST_WEBHOOKS, RETRY_DELIVERY, ROTATE_SECRET,
    TEST_WEBHOOK, UPDATE_WEBHOOK, WEBHOOK_DISABLED, Delivery, Webhook, WebhookCreated)
from crm_integration_contracts.exports import (  # noqa: F401
    EXPORT_CHUNK, EXPORT_COMPLETED, GET_EXPORT, START_EXPORT, ExportIn)
from crm_common.contracts.platform import privacy_part_completed  # noqa: E402

PRIVACY_PART_COMPLETED = privacy_part_completed("integration")  # its part of a privacy request (the feed's events)
