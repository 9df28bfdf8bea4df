"""nameko entrypoints of the marketing service (crm_common.entrypoint: one per contract, the event table)."""
import crm_marketing_contracts as c
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_marketing import handlers
from crm_marketing.domain import suppressions
from crm_marketing.domain import mentions, scoring
from nameko.timer import timer
from crm_common import config, service_base
from crm_common.entrypoint import run
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

    # -- lead scoring ----------------------------------------------------------------------------------
    list_scoring_rules = entrypoint(c.LIST_SCORING_RULES, scoring.page)
    create_scoring_rule = entrypoint(c.CREATE_SCORING_RULE, scoring.create)
    get_scoring_rule = entrypoint(c.GET_SCORING_RULE, scoring.get)
    update_scoring_rule = entrypoint(c.UPDATE_SCORING_RULE, scoring.update)
    delete_scoring_rule = entrypoint(c.DELETE_SCORING_RULE, scoring.delete)
    get_lead_score = entrypoint(c.GET_LEAD_SCORE, scoring.lead_score)

    @timer(interval=config.env_float("CRM_SCORING_INTERVAL", 60.0))
    @service_base.periodic("lead score sweep")
    def score_sweep(self):
        """Leads whose score is missing or out of date (new activity, a rule changed, a day of decay) are
        rescored, one transaction per batch."""
        while run(self, scoring.sweep) == scoring.SWEEP_BATCH:
            pass

    # -- social mentions -------------------------------------------------------------------------------
    list_mentions = entrypoint(c.LIST_MENTIONS, mentions.page)
    create_mention = entrypoint(c.CREATE_MENTION, mentions.create)
    get_mention = entrypoint(c.GET_MENTION, mentions.get)
    update_mention = entrypoint(c.UPDATE_MENTION, mentions.update)
    reply_mention = entrypoint(c.REPLY_MENTION, mentions.reply)
    ticket_mention = entrypoint(c.TICKET_MENTION, mentions.ticket)
