"""nameko entrypoints of the analytics service: thin, validating, calling plain domain functions."""
from crm_common.dependencies import Database
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_analytics import handlers
from crm_analytics.models import Base


class AnalyticsService(KernelService):
    name = "analytics"
    db = Database(Base.metadata)

    @event_stream
    def on_event(self, envelope, session):
        handlers.dispatch(session, envelope, self.db)
