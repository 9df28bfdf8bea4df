"""nameko entrypoints of the sales service: one per contract (crm_common.entrypoint), the event table, timers."""
from nameko.timer import timer

import crm_sales_contracts as c
from crm_common import config, jobs, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.stream import event_stream
from crm_sales import handlers
from crm_sales.domain import (accounts, activities, call_lists, commissions, contacts, expenses, forecast,
                              lead_imports, leads, opportunities, orders, products, quotes, sales_contracts,
                              scheduled, settings, targets, territories)
from crm_sales.models import Base

REMINDER_INTERVAL = config.env_float("CRM_SALES_REMINDER_INTERVAL", 30.0)


class SalesService(service_base.KernelService):
    name = "sales"
    db = Database(Base.metadata)
    runner = jobs.JobRunner(Base.metadata, {lead_imports.KIND: lead_imports.run},
                            metadata_ref="crm_sales.models:Base.metadata")
    on_event = event_stream(handlers.HANDLERS)

    # -- leads, imports, assignment rules, territories --------------------------------------
    list_leads = entrypoint(c.LIST_LEADS, leads.page)
    create_lead = entrypoint(c.CREATE_LEAD, leads.create)
    get_lead = entrypoint(c.GET_LEAD, leads.get)
    update_lead = entrypoint(c.UPDATE_LEAD, leads.update)
    delete_lead = entrypoint(c.DELETE_LEAD, leads.delete)
    convert_lead = entrypoint(c.CONVERT_LEAD, leads.convert)
    import_leads = entrypoint(c.IMPORT_LEADS, lead_imports.start)  # the job runs after commit (self.runner)
    get_import = entrypoint(c.GET_IMPORT, lead_imports.get)
    list_assignment_rules = entrypoint(c.LIST_ASSIGNMENT_RULES, territories.rules)
    create_assignment_rule = entrypoint(c.CREATE_ASSIGNMENT_RULE, territories.create_rule)
    list_territories = entrypoint(c.LIST_TERRITORIES, territories.page)
    create_territory = entrypoint(c.CREATE_TERRITORY, territories.create)
    get_territory = entrypoint(c.GET_TERRITORY, territories.get)
    update_territory = entrypoint(c.UPDATE_TERRITORY, territories.update)

    # -- accounts, contacts ------------------------------------------------------------------
    list_accounts = entrypoint(c.LIST_ACCOUNTS, accounts.page)
    create_account = entrypoint(c.CREATE_ACCOUNT, accounts.create)
    get_account = entrypoint(c.GET_ACCOUNT, accounts.get)
    update_account = entrypoint(c.UPDATE_ACCOUNT, accounts.update)
    delete_account = entrypoint(c.DELETE_ACCOUNT, accounts.delete)
    merge_accounts = entrypoint(c.MERGE_ACCOUNTS, accounts.merge)
    list_contacts = entrypoint(c.LIST_CONTACTS, contacts.page)
    create_contact = entrypoint(c.CREATE_CONTACT, contacts.create)
    get_contact = entrypoint(c.GET_CONTACT, contacts.get)
    update_contact = entrypoint(c.UPDATE_CONTACT, contacts.update)
    delete_contact = entrypoint(c.DELETE_CONTACT, contacts.delete)
    merge_contacts = entrypoint(c.MERGE_CONTACTS, contacts.merge)

    # -- opportunities, pipelines ------------------------------------------------------------
    list_opportunities = entrypoint(c.LIST_OPPORTUNITIES, opportunities.page)
    create_opportunity = entrypoint(c.CREATE_OPPORTUNITY, opportunities.create)
    get_opportunity = entrypoint(c.GET_OPPORTUNITY, opportunities.get)
    update_opportunity = entrypoint(c.UPDATE_OPPORTUNITY, opportunities.update)
    delete_opportunity = entrypoint(c.DELETE_OPPORTUNITY, opportunities.delete)
    opportunity_history = entrypoint(c.OPPORTUNITY_HISTORY, opportunities.history)
    list_pipelines = entrypoint(c.LIST_PIPELINES, opportunities.pipelines)
    create_pipeline = entrypoint(c.CREATE_PIPELINE, opportunities.create_pipeline)

    # -- products, quotes, orders, contracts -------------------------------------------------
    list_products = entrypoint(c.LIST_PRODUCTS, products.page)
    create_product = entrypoint(c.CREATE_PRODUCT, products.create)
    get_product = entrypoint(c.GET_PRODUCT, products.get)
    update_product = entrypoint(c.UPDATE_PRODUCT, products.update)
    delete_product = entrypoint(c.DELETE_PRODUCT, products.delete)
    list_quotes = entrypoint(c.LIST_QUOTES, quotes.page)
    create_quote = entrypoint(c.CREATE_QUOTE, quotes.create)
    get_quote = entrypoint(c.GET_QUOTE, quotes.get)
    update_quote = entrypoint(c.UPDATE_QUOTE, quotes.update)
    delete_quote = entrypoint(c.DELETE_QUOTE, quotes.delete)
    approve_quote = entrypoint(c.APPROVE_QUOTE, quotes.approve)
    send_quote = entrypoint(c.SEND_QUOTE, quotes.send)
    reject_quote = entrypoint(c.REJECT_QUOTE, quotes.reject)
    accept_quote = entrypoint(c.ACCEPT_QUOTE, orders.accept)
    list_orders = entrypoint(c.LIST_ORDERS, orders.page)
    get_order = entrypoint(c.GET_ORDER, orders.get)
    update_order = entrypoint(c.UPDATE_ORDER, orders.update)
    list_contracts = entrypoint(c.LIST_CONTRACTS, sales_contracts.page)
    create_contract = entrypoint(c.CREATE_CONTRACT, sales_contracts.create)
    get_contract = entrypoint(c.GET_CONTRACT, sales_contracts.get)
    update_contract = entrypoint(c.UPDATE_CONTRACT, sales_contracts.update)
    delete_contract = entrypoint(c.DELETE_CONTRACT, sales_contracts.delete)
    contract_document = entrypoint(c.CONTRACT_DOCUMENT, sales_contracts.document)

    # -- activities, calendar, call lists ----------------------------------------------------
    list_activities = entrypoint(c.LIST_ACTIVITIES, activities.page)
    create_activity = entrypoint(c.CREATE_ACTIVITY, activities.create)
    get_activity = entrypoint(c.GET_ACTIVITY, activities.get)
    update_activity = entrypoint(c.UPDATE_ACTIVITY, activities.update)
    delete_activity = entrypoint(c.DELETE_ACTIVITY, activities.delete)
    calendar = entrypoint(c.CALENDAR, activities.calendar)
    list_call_lists = entrypoint(c.LIST_CALL_LISTS, call_lists.page)
    create_call_list = entrypoint(c.CREATE_CALL_LIST, call_lists.create)
    get_call_list = entrypoint(c.GET_CALL_LIST, call_lists.get)
    log_call = entrypoint(c.LOG_CALL, call_lists.log_call)

    # -- targets, forecast, commissions, expenses, settings ----------------------------------
    list_targets = entrypoint(c.LIST_TARGETS, targets.page)
    create_target = entrypoint(c.CREATE_TARGET, targets.create)
    get_target = entrypoint(c.GET_TARGET, targets.get)
    update_target = entrypoint(c.UPDATE_TARGET, targets.update)
    delete_target = entrypoint(c.DELETE_TARGET, targets.delete)
    forecast = entrypoint(c.FORECAST, forecast.forecast)
    commissions = entrypoint(c.COMMISSIONS, commissions.commissions)
    list_expenses = entrypoint(c.LIST_EXPENSES, expenses.page)
    create_expense = entrypoint(c.CREATE_EXPENSE, expenses.create)
    get_expense = entrypoint(c.GET_EXPENSE, expenses.get)
    update_expense = entrypoint(c.UPDATE_EXPENSE, expenses.update)
    delete_expense = entrypoint(c.DELETE_EXPENSE, expenses.delete)
    decide_expense = entrypoint(c.DECIDE_EXPENSE, expenses.decide)
    get_settings = entrypoint(c.GET_SETTINGS, settings.read)
    update_settings = entrypoint(c.UPDATE_SETTINGS, settings.update)

    # -- timers, and the operators' calls that run them now ----------------------------------
    run_daily = entrypoint(c.RUN_DAILY, scheduled.run_daily)
    run_reminders = entrypoint(c.RUN_REMINDERS, scheduled.run_reminders)

    @timer(interval=config.env_float("CRM_SALES_DAILY_INTERVAL", 3600.0))
    @service_base.periodic("daily sales run")
    def daily(self):
        """Contracts start, expire and remind before their end; accounts without orders churn."""
        run(self, scheduled.daily)

    @timer(interval=REMINDER_INTERVAL)
    @service_base.periodic("activity reminder scan")
    def reminders(self):
        """Activities whose reminder time came are announced (sales.activity_reminder_due.v1), once each; one
        transaction per batch."""
        while run(self, scheduled.reminder_batch) == scheduled.REMINDER_BATCH:
            pass
