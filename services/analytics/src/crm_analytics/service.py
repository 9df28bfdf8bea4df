"""nameko entrypoints of the analytics service (crm_common.entrypoint: one per contract, the event table)."""
from crm_common.dependencies import Database
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_analytics import handlers
from crm_analytics.models import Base


class AnalyticsService(KernelService):
    name = "analytics"
    db = Database(Base.metadata)
    on_event = event_stream(handlers.HANDLERS)
