"""nameko entrypoints of the integration service (crm_common.entrypoint: one per contract, the event table)."""
from nameko.timer import timer

import crm_integration_contracts as c
from crm_common import config, jobs, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.stream import event_stream

from crm_integration import handlers
from crm_integration.domain import deliveries, exports, feed, webhooks
from crm_integration.models import Base
from crm_integration.sender import WebhookSender

RETENTION_DAYS = config.env_int("CRM_EVENT_RETENTION_DAYS", 30)
PRUNE_BATCH = 1000  # settled deliveries forgotten per transaction


class IntegrationService(service_base.KernelService):
    name = "integration"
    db = Database(Base.metadata)
    # every event kept in the feed; the events waiting while a transaction runs go together in the next (one
    # commit; the inbox, the feed's lookup and its counter one statement each for the whole batch, in order)
    on_event = event_stream(handlers.HANDLERS, every_batch=handlers.every_batch, batch=True)
    sender = WebhookSender()  # sends due deliveries in green threads of its own (never the consumer's)
    runner = jobs.JobRunner(Base.metadata, {exports.KIND: exports.run})  # bulk exports (other services' lists)

    list_events = entrypoint(c.LIST_EVENTS, feed.page)

    list_webhooks = entrypoint(c.LIST_WEBHOOKS, webhooks.page)
    create_webhook = entrypoint(c.CREATE_WEBHOOK, webhooks.create)
    get_webhook = entrypoint(c.GET_WEBHOOK, webhooks.get)
    update_webhook = entrypoint(c.UPDATE_WEBHOOK, webhooks.update)
    delete_webhook = entrypoint(c.DELETE_WEBHOOK, webhooks.delete)
    rotate_webhook_secret = entrypoint(c.ROTATE_SECRET, webhooks.rotate_secret)
    list_deliveries = entrypoint(c.LIST_DELIVERIES, webhooks.deliveries)
    list_webhook_deliveries = entrypoint(c.LIST_ALL_DELIVERIES, webhooks.all_deliveries)
    retry_delivery = entrypoint(c.RETRY_DELIVERY, webhooks.retry)  # keyword name: the delivery id
    test_webhook = entrypoint(c.TEST_WEBHOOK, webhooks.test)

    start_export = entrypoint(c.START_EXPORT, exports.start)  # the job runs after commit (self.runner)
    get_export = entrypoint(c.GET_EXPORT, exports.get)
    export_chunk = entrypoint(c.EXPORT_CHUNK, exports.part)

    @timer(interval=config.env_float("CRM_EVENT_PRUNE_INTERVAL", 3600.0))
    @service_base.periodic("event feed retention")
    def prune_feed(self):
        """Events older than the retention (CRM_EVENT_RETENTION_DAYS, 30) leave the feed; exports finished
        more than CRM_EXPORT_RETENTION_HOURS (24) ago are forgotten; settled webhook deliveries made more than
        CRM_WEBHOOK_DELIVERY_RETENTION_DAYS (30) ago too, a batch per transaction (the sender's claims and the
        consumer's commits never wait long behind one)."""
        run(self, lambda ctx: feed.prune(ctx.session, RETENTION_DAYS))
        run(self, lambda ctx: exports.prune(ctx.session))
        while run(self, lambda ctx: deliveries.prune(ctx.session, batch=PRUNE_BATCH)) == PRUNE_BATCH:
            pass
