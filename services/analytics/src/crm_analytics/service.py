"""nameko entrypoints of the analytics service (crm_common.entrypoint: one per contract, the event table)."""
from nameko.timer import timer

import crm_analytics_contracts as c
from crm_common import config, jobs, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_analytics import handlers
from crm_analytics.domain import customers, intelligence, kpis, log, profile, reports, schedules, marketing_figures, rebuild as rebuilds, sales_figures, service_figures, subscription_figures, ticket_days
from crm_analytics.models import Base


class AnalyticsService(KernelService):
    name = "analytics"
    db = Database(Base.metadata)
    # every event is kept in the log and projected, the events waiting while a transaction runs together in the
    # next (log.keep_many, which claims them: the log is unique by event id); HANDLERS applies the few that need more
    on_event = event_stream(handlers.HANDLERS, every_batch=log.keep_many, every_claims=True, batch=True)
    runner = jobs.JobRunner(Base.metadata, {rebuilds.KIND: rebuilds.run}, metadata_ref="crm_analytics.models:Base.metadata")

    pipeline = entrypoint(c.PIPELINE, sales_figures.pipeline)
    funnel = entrypoint(c.FUNNEL, sales_figures.funnel)
    win_rate = entrypoint(c.WIN_RATE, sales_figures.win_rate)
    sales_cycle = entrypoint(c.SALES_CYCLE, sales_figures.sales_cycle)
    forecast = entrypoint(c.FORECAST, sales_figures.forecast)
    activities = entrypoint(c.ACTIVITIES, sales_figures.activities)
    service = entrypoint(c.SERVICE, service_figures.service)
    marketing = entrypoint(c.MARKETING, marketing_figures.marketing)
    kpis = entrypoint(c.KPIS, kpis.kpis)
    subscriptions = entrypoint(c.SUBSCRIPTIONS, subscription_figures.subscriptions)
    rfm = entrypoint(c.RFM, intelligence.rfm)
    clv = entrypoint(c.CLV, intelligence.clv)
    churn_risk = entrypoint(c.CHURN_RISK, intelligence.churn_risk)
    cohorts = entrypoint(c.COHORTS, intelligence.cohorts)
    customer = entrypoint(c.CUSTOMER, customers.picture)
    customer_timeline = entrypoint(c.CUSTOMER_TIMELINE, customers.timeline)
    customer_profile = entrypoint(c.CUSTOMER_PROFILE, profile.document)
    status = entrypoint(c.STATUS, log.status)

    list_reports = entrypoint(c.LIST_REPORTS, reports.list_reports)
    create_report = entrypoint(c.CREATE_REPORT, reports.create_report)
    get_report = entrypoint(c.GET_REPORT, reports.get_report)
    update_report = entrypoint(c.UPDATE_REPORT, reports.update_report)
    delete_report = entrypoint(c.DELETE_REPORT, reports.delete_report)
    run_report = entrypoint(c.RUN_REPORT, reports.run_report)
    list_dashboards = entrypoint(c.LIST_DASHBOARDS, reports.list_dashboards)
    create_dashboard = entrypoint(c.CREATE_DASHBOARD, reports.create_dashboard)
    get_dashboard = entrypoint(c.GET_DASHBOARD, reports.get_dashboard)
    update_dashboard = entrypoint(c.UPDATE_DASHBOARD, reports.update_dashboard)
    delete_dashboard = entrypoint(c.DELETE_DASHBOARD, reports.delete_dashboard)
    rebuild = entrypoint(c.REBUILD, rebuilds.start)
    get_rebuild = entrypoint(c.GET_REBUILD, rebuilds.get)

    @timer(interval=config.env_float("CRM_ANALYTICS_SCHEDULE_INTERVAL", 60.0))
    @service_base.periodic("scheduled reports")
    def mail_scheduled_reports(self):
        """Reports whose schedule is due are mailed as CSV to their recipients."""
        from crm_common import mail
        from crm_common.db import utcnow

        def send(message, sender, recipient):
            with mail.Connection() as connection:
                connection.send(message, sender, recipient)
        run(self, lambda ctx: schedules.run_due(ctx.session, utcnow(), send))

    @timer(interval=config.env_float("CRM_ANALYTICS_TICKET_DAYS_INTERVAL", 30.0))
    @service_base.periodic("ticket days")
    def count_ticket_days(self):
        """The days whose tickets changed since they were counted, or never counted (domain/ticket_days.py), one at a
        time (no live batch waits for it), for up to CRM_ANALYTICS_TICKET_DAYS_BUDGET seconds a run."""
        ticket_days.refresh_all(self.db.transaction, config.env_float("CRM_ANALYTICS_TICKET_DAYS_BUDGET", 10.0))
