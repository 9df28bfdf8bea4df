"""nameko entrypoints of the marketing service (crm_common.entrypoint: one per contract, the event table)."""
import crm_marketing_contracts as c
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_marketing import handlers
from crm_marketing.domain import suppressions
from crm_marketing.domain import bounces, forms, optin, tracking
from crm_marketing.models import Base


class MarketingService(KernelService):
    name = "marketing"
    db = Database(Base.metadata)
    on_event = event_stream(handlers.HANDLERS)

    list_suppressions = entrypoint(c.LIST_SUPPRESSIONS, suppressions.page)
    create_suppression = entrypoint(c.CREATE_SUPPRESSION, suppressions.create)
    get_suppression = entrypoint(c.GET_SUPPRESSION, suppressions.get)
    delete_suppression = entrypoint(c.DELETE_SUPPRESSION, suppressions.lift)
    check_suppression = entrypoint(c.CHECK_SUPPRESSION, suppressions.check)

    # the public links (tracking, unsubscribe, double opt-in), forms, inbound bounce and complaint reports
    track = entrypoint(c.TRACK, tracking.track)
    preview_unsubscribe = entrypoint(c.PREVIEW_UNSUBSCRIBE, tracking.preview_unsubscribe)
    unsubscribe = entrypoint(c.UNSUBSCRIBE, tracking.unsubscribe)
    confirm_consent = entrypoint(c.CONFIRM_CONSENT, optin.confirm)
    list_forms = entrypoint(c.LIST_FORMS, forms.page)
    create_form = entrypoint(c.CREATE_FORM, forms.create)
    get_form = entrypoint(c.GET_FORM, forms.get)
    update_form = entrypoint(c.UPDATE_FORM, forms.update)
    delete_form = entrypoint(c.DELETE_FORM, forms.delete)
    submit_form = entrypoint(c.SUBMIT_FORM, forms.submit)
    receive_report = entrypoint(c.RECEIVE_REPORT, bounces.receive)
