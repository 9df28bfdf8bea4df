"""nameko entrypoints of the marketing service (crm_common.entrypoint: one per contract, the event table)."""
import crm_marketing_contracts as c
from nameko.timer import timer

from crm_common import config, jobs, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint
from crm_common.entrypoint import run as run_in_transaction
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_marketing import handlers
from crm_marketing.domain import suppressions
from crm_marketing.domain import send_job, sending
from crm_marketing.models import Base


class MarketingService(KernelService):
    name = "marketing"
    db = Database(Base.metadata)
    on_event = event_stream(handlers.HANDLERS)
    runner = jobs.JobRunner(Base.metadata, {send_job.KIND: send_job.run},  # campaign sends (on PostgreSQL in a
                            metadata_ref="crm_marketing.models:Base.metadata")  # process of their own)

    list_suppressions = entrypoint(c.LIST_SUPPRESSIONS, suppressions.page)
    create_suppression = entrypoint(c.CREATE_SUPPRESSION, suppressions.create)
    get_suppression = entrypoint(c.GET_SUPPRESSION, suppressions.get)
    delete_suppression = entrypoint(c.DELETE_SUPPRESSION, suppressions.lift)
    check_suppression = entrypoint(c.CHECK_SUPPRESSION, suppressions.check)

    send_campaign = entrypoint(c.SEND_CAMPAIGN, sending.start)  # the job runs after commit (self.runner)
    get_send_job = entrypoint(c.GET_SEND_JOB, sending.get_job)
    cancel_campaign_send = entrypoint(c.CANCEL_CAMPAIGN_SEND, sending.cancel)
    test_send = entrypoint(c.TEST_SEND, sending.test_send)

    @timer(interval=config.env_float("CRM_MARKETING_SEND_TICK", 15.0))
    @service_base.periodic("scheduled campaign sends")
    def start_due_sends(self):
        """Scheduled campaigns whose time came start sending."""
        run_in_transaction(self, sending.start_due)
