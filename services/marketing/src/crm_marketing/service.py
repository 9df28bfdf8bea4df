"""nameko entrypoints of the marketing service: thin, validating, calling plain domain functions."""
from crm_common.dependencies import Database
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_marketing import handlers
from crm_marketing.models import Base


class MarketingService(KernelService):
    name = "marketing"
    db = Database(Base.metadata)

    @event_stream
    def on_event(self, envelope, session):
        handlers.dispatch(session, envelope, self.db)
