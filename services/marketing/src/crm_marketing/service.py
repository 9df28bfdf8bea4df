"""nameko entrypoints of the marketing service (crm_common.entrypoint: one per contract, the event table)."""
from crm_common.dependencies import Database
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_marketing import handlers
from crm_marketing.models import Base


class MarketingService(KernelService):
    name = "marketing"
    db = Database(Base.metadata)
    on_event = event_stream(handlers.HANDLERS)
