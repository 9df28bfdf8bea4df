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
from crm_marketing.domain import consents, segments
from crm_marketing.domain import campaigns, stats, templates
from crm_marketing.domain import send_job, sending
from crm_marketing.domain import bounces, forms, optin, tracking
from crm_marketing.domain import mentions, scoring
from nameko.timer import timer
from crm_common import config, service_base
from crm_common.entrypoint import run
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

    list_segments = entrypoint(c.LIST_SEGMENTS, segments.page)
    create_segment = entrypoint(c.CREATE_SEGMENT, segments.create)
    get_segment = entrypoint(c.GET_SEGMENT, segments.get)
    update_segment = entrypoint(c.UPDATE_SEGMENT, segments.update)
    delete_segment = entrypoint(c.DELETE_SEGMENT, segments.delete)
    list_segment_members = entrypoint(c.LIST_SEGMENT_MEMBERS, segments.list_members)

    list_consents = entrypoint(c.LIST_CONSENTS, consents.page)
    create_consent = entrypoint(c.CREATE_CONSENT, consents.create)
    get_consent = entrypoint(c.GET_CONSENT, consents.get)
    update_consent = entrypoint(c.UPDATE_CONSENT, consents.update)
    list_email_templates = entrypoint(c.LIST_EMAIL_TEMPLATES, templates.page)
    create_email_template = entrypoint(c.CREATE_EMAIL_TEMPLATE, templates.create)
    get_email_template = entrypoint(c.GET_EMAIL_TEMPLATE, templates.get)
    update_email_template = entrypoint(c.UPDATE_EMAIL_TEMPLATE, templates.update)
    delete_email_template = entrypoint(c.DELETE_EMAIL_TEMPLATE, templates.delete)
    preview_email_template = entrypoint(c.PREVIEW_EMAIL_TEMPLATE, templates.preview)
    list_campaigns = entrypoint(c.LIST_CAMPAIGNS, campaigns.page)
    create_campaign = entrypoint(c.CREATE_CAMPAIGN, campaigns.create)
    get_campaign = entrypoint(c.GET_CAMPAIGN, campaigns.get)
    update_campaign = entrypoint(c.UPDATE_CAMPAIGN, campaigns.update)
    delete_campaign = entrypoint(c.DELETE_CAMPAIGN, campaigns.delete)
    campaign_stats = entrypoint(c.CAMPAIGN_STATS, stats.of)
    send_campaign = entrypoint(c.SEND_CAMPAIGN, sending.start)  # the job runs after commit (self.runner)
    get_send_job = entrypoint(c.GET_SEND_JOB, sending.get_job)
    cancel_campaign_send = entrypoint(c.CANCEL_CAMPAIGN_SEND, sending.cancel)
    test_send = entrypoint(c.TEST_SEND, sending.test_send)

    @timer(interval=config.env_float("CRM_MARKETING_SEND_TICK", 15.0))
    @service_base.periodic("scheduled campaign sends")
    def start_due_sends(self):
        """Scheduled campaigns whose time came start sending."""
        run_in_transaction(self, sending.start_due)
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
