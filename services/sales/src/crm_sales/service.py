"""nameko entrypoints of the sales service: one per contract (crm_common.entrypoint), the event table, timers."""
from nameko.timer import timer

import crm_sales_contracts as c
from crm_common import config, jobs, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.stream import event_stream
from crm_sales import handlers
from crm_sales.domain import quote_approvals
from crm_sales.domain import external_id_bulk, external_ids
from crm_sales.domain import (accounts, activities, call_lists, commissions, contacts, expenses, forecast,
                              lead_imports, leads, opportunities, orders, products, quotes, sales_contracts,
                              scheduled, settings, targets, territories)
from crm_sales.domain import content_subscriptions, plans, subscription_metrics, subscriptions
from crm_sales.domain import deal_registrations, partner_leads, partner_orders, partner_statements, partners
from crm_sales.domain import custom, documents, record_comments
from crm_sales.domain import search as record_search
from crm_sales.models import Account, Base, Contact, Lead, Opportunity

REMINDER_INTERVAL = config.env_float("CRM_SALES_REMINDER_INTERVAL", 30.0)


class SalesService(service_base.KernelService):
    name = "sales"
    db = Database(Base.metadata)
    runner = jobs.JobRunner(Base.metadata, {lead_imports.KIND: lead_imports.run,
                                            **{kind: external_id_bulk.run for kind in external_id_bulk.KINDS.values()}},
                            metadata_ref="crm_sales.models:Base.metadata")
    on_event = event_stream(handlers.HANDLERS)

    # -- leads, imports, assignment rules, territories --------------------------------------
    list_leads = entrypoint(c.LIST_LEADS, leads.page)
    create_lead = entrypoint(c.CREATE_LEAD, custom.creating("lead", Lead, leads.create))
    get_lead = entrypoint(c.GET_LEAD, leads.get)
    update_lead = entrypoint(c.UPDATE_LEAD, custom.updating("lead", Lead, leads.update))
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
    list_accounts = entrypoint(c.LIST_ACCOUNTS, external_ids.showing_links("account", accounts.page))
    create_account = entrypoint(c.CREATE_ACCOUNT, custom.creating("account", Account, accounts.create))
    get_account = entrypoint(c.GET_ACCOUNT, external_ids.showing_links("account", accounts.get))
    update_account = entrypoint(c.UPDATE_ACCOUNT, custom.updating("account", Account, accounts.update))
    delete_account = entrypoint(c.DELETE_ACCOUNT, accounts.delete)
    merge_accounts = entrypoint(c.MERGE_ACCOUNTS, accounts.merge)
    list_contacts = entrypoint(c.LIST_CONTACTS, external_ids.showing_links("contact", contacts.page))
    create_contact = entrypoint(c.CREATE_CONTACT, custom.creating("contact", Contact, contacts.create))
    get_contact = entrypoint(c.GET_CONTACT, external_ids.showing_links("contact", contacts.get))
    update_contact = entrypoint(c.UPDATE_CONTACT, custom.updating("contact", Contact, contacts.update))
    delete_contact = entrypoint(c.DELETE_CONTACT, contacts.delete)
    merge_contacts = entrypoint(c.MERGE_CONTACTS, contacts.merge)
    search = entrypoint(c.SEARCH, record_search.search)  # GET /api/v1/search, with the service desk's

    # -- opportunities, pipelines ------------------------------------------------------------
    list_opportunities = entrypoint(c.LIST_OPPORTUNITIES, opportunities.page)
    create_opportunity = entrypoint(c.CREATE_OPPORTUNITY, custom.creating("opportunity", Opportunity,
                                                                        opportunities.create))
    get_opportunity = entrypoint(c.GET_OPPORTUNITY, opportunities.get)
    update_opportunity = entrypoint(c.UPDATE_OPPORTUNITY, custom.updating("opportunity", Opportunity,
                                                                        opportunities.update))
    delete_opportunity = entrypoint(c.DELETE_OPPORTUNITY, opportunities.delete)
    opportunity_history = entrypoint(c.OPPORTUNITY_HISTORY, opportunities.history)
    list_pipelines = entrypoint(c.LIST_PIPELINES, opportunities.pipelines)
    create_pipeline = entrypoint(c.CREATE_PIPELINE, opportunities.create_pipeline)

    # -- products, quotes, orders, contracts -------------------------------------------------
    list_products = entrypoint(c.LIST_PRODUCTS, external_ids.showing_links("product", products.page))
    create_product = entrypoint(c.CREATE_PRODUCT, products.create)
    get_product = entrypoint(c.GET_PRODUCT, external_ids.showing_links("product", products.get))
    update_product = entrypoint(c.UPDATE_PRODUCT, products.update)
    delete_product = entrypoint(c.DELETE_PRODUCT, products.delete)
    list_quotes = entrypoint(c.LIST_QUOTES, quotes.page)
    create_quote = entrypoint(c.CREATE_QUOTE, quotes.create)
    get_quote = entrypoint(c.GET_QUOTE, quotes.get)
    update_quote = entrypoint(c.UPDATE_QUOTE, quotes.update)
    delete_quote = entrypoint(c.DELETE_QUOTE, quotes.delete)
    approve_quote = entrypoint(c.APPROVE_QUOTE, quotes.approve)
    send_quote = entrypoint(c.SEND_QUOTE, quote_approvals.send)  # over the limit: asks for approval
    reject_quote = entrypoint(c.REJECT_QUOTE, quotes.reject)
    accept_quote = entrypoint(c.ACCEPT_QUOTE, orders.accept)
    list_orders = entrypoint(c.LIST_ORDERS, external_ids.showing_links("order", orders.page))
    get_order = entrypoint(c.GET_ORDER, external_ids.showing_links("order", orders.get))
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

    # -- subscriptions: plans, changes with proration, content, recurring revenue figures ------
    list_plans = entrypoint(c.LIST_PLANS, plans.page)
    create_plan = entrypoint(c.CREATE_PLAN, plans.create)
    get_plan = entrypoint(c.GET_PLAN, plans.get)
    update_plan = entrypoint(c.UPDATE_PLAN, plans.update)
    list_subscriptions = entrypoint(c.LIST_SUBSCRIPTIONS, subscriptions.page)
    create_subscription = entrypoint(c.CREATE_SUBSCRIPTION, subscriptions.create)
    get_subscription = entrypoint(c.GET_SUBSCRIPTION, subscriptions.get)
    update_subscription = entrypoint(c.UPDATE_SUBSCRIPTION, subscriptions.update)
    change_subscription_plan = entrypoint(c.CHANGE_PLAN, subscriptions.change_plan)
    cancel_subscription = entrypoint(c.CANCEL_SUBSCRIPTION, subscriptions.cancel)
    subscription_metrics = entrypoint(c.SUBSCRIPTION_METRICS, subscription_metrics.metrics)
    list_content_subscriptions = entrypoint(c.LIST_CONTENT_SUBSCRIPTIONS, content_subscriptions.page)
    subscribe_content = entrypoint(c.SUBSCRIBE_CONTENT, content_subscriptions.subscribe)
    unsubscribe_content = entrypoint(c.UNSUBSCRIBE_CONTENT, content_subscriptions.unsubscribe)

    # -- partners: the channel, deal registration, profit share -------------------------------
    list_partners = entrypoint(c.LIST_PARTNERS, partners.page)
    create_partner = entrypoint(c.CREATE_PARTNER, partners.create)
    get_partner = entrypoint(c.GET_PARTNER, partners.get)
    update_partner = entrypoint(c.UPDATE_PARTNER, partners.update)
    list_partner_trainings = entrypoint(c.LIST_TRAININGS, partners.trainings)
    add_partner_training = entrypoint(c.ADD_TRAINING, partners.add_training)
    partner_statement = entrypoint(c.PARTNER_STATEMENT, partner_statements.statement)
    list_partner_orders = entrypoint(c.LIST_PARTNER_ORDERS, partner_orders.orders)
    place_partner_order = entrypoint(c.PLACE_PARTNER_ORDER, partner_orders.place)
    list_partner_leads = entrypoint(c.LIST_PARTNER_LEADS, partner_leads.leads)
    distribute_leads = entrypoint(c.DISTRIBUTE_LEADS, partner_leads.distribute)
    list_share_rates = entrypoint(c.LIST_SHARE_RATES, partner_statements.list_rates)
    set_share_rate = entrypoint(c.SET_SHARE_RATE, partner_statements.set_rate)
    list_deal_registrations = entrypoint(c.LIST_DEAL_REGISTRATIONS, deal_registrations.page)
    create_deal_registration = entrypoint(c.CREATE_DEAL_REGISTRATION, deal_registrations.create)
    get_deal_registration = entrypoint(c.GET_DEAL_REGISTRATION, deal_registrations.get)
    approve_deal_registration = entrypoint(c.APPROVE_DEAL_REGISTRATION, deal_registrations.approve)
    reject_deal_registration = entrypoint(c.REJECT_DEAL_REGISTRATION, deal_registrations.reject)
    # -- custom field definitions (crm_common.records) --------------------------------------
    list_custom_fields = entrypoint(c.CUSTOM_FIELDS.LIST, custom.definitions.list)
    create_custom_field = entrypoint(c.CUSTOM_FIELDS.CREATE, custom.definitions.create)
    get_custom_field = entrypoint(c.CUSTOM_FIELDS.GET, custom.definitions.get)
    update_custom_field = entrypoint(c.CUSTOM_FIELDS.UPDATE, custom.definitions.update)
    delete_custom_field = entrypoint(c.CUSTOM_FIELDS.DELETE, custom.definitions.delete)

    # -- comments with @mentions (crm_common.records) ---------------------------------------
    list_lead_comments = entrypoint(c.LEAD_COMMENTS.LIST, record_comments.LEAD.list)
    create_lead_comment = entrypoint(c.LEAD_COMMENTS.CREATE, record_comments.LEAD.create)
    update_lead_comment = entrypoint(c.LEAD_COMMENTS.UPDATE, record_comments.LEAD.update)
    delete_lead_comment = entrypoint(c.LEAD_COMMENTS.DELETE, record_comments.LEAD.delete)
    list_account_comments = entrypoint(c.ACCOUNT_COMMENTS.LIST, record_comments.ACCOUNT.list)
    create_account_comment = entrypoint(c.ACCOUNT_COMMENTS.CREATE, record_comments.ACCOUNT.create)
    update_account_comment = entrypoint(c.ACCOUNT_COMMENTS.UPDATE, record_comments.ACCOUNT.update)
    delete_account_comment = entrypoint(c.ACCOUNT_COMMENTS.DELETE, record_comments.ACCOUNT.delete)
    list_contact_comments = entrypoint(c.CONTACT_COMMENTS.LIST, record_comments.CONTACT.list)
    create_contact_comment = entrypoint(c.CONTACT_COMMENTS.CREATE, record_comments.CONTACT.create)
    update_contact_comment = entrypoint(c.CONTACT_COMMENTS.UPDATE, record_comments.CONTACT.update)
    delete_contact_comment = entrypoint(c.CONTACT_COMMENTS.DELETE, record_comments.CONTACT.delete)
    list_opportunity_comments = entrypoint(c.OPPORTUNITY_COMMENTS.LIST, record_comments.OPPORTUNITY.list)
    create_opportunity_comment = entrypoint(c.OPPORTUNITY_COMMENTS.CREATE, record_comments.OPPORTUNITY.create)
    update_opportunity_comment = entrypoint(c.OPPORTUNITY_COMMENTS.UPDATE, record_comments.OPPORTUNITY.update)
    delete_opportunity_comment = entrypoint(c.OPPORTUNITY_COMMENTS.DELETE, record_comments.OPPORTUNITY.delete)

    # -- files on records (crm_common.records) ----------------------------------------------
    upload_lead_attachment = entrypoint(c.ATTACHMENTS.by_resource["lead"].UPLOAD,
                                        record_comments.ATTACHMENTS.upload("lead"))
    list_lead_attachments = entrypoint(c.ATTACHMENTS.by_resource["lead"].LIST,
                                       record_comments.ATTACHMENTS.listing("lead"))
    upload_account_attachment = entrypoint(c.ATTACHMENTS.by_resource["account"].UPLOAD,
                                           record_comments.ATTACHMENTS.upload("account"))
    list_account_attachments = entrypoint(c.ATTACHMENTS.by_resource["account"].LIST,
                                          record_comments.ATTACHMENTS.listing("account"))
    upload_contact_attachment = entrypoint(c.ATTACHMENTS.by_resource["contact"].UPLOAD,
                                           record_comments.ATTACHMENTS.upload("contact"))
    list_contact_attachments = entrypoint(c.ATTACHMENTS.by_resource["contact"].LIST,
                                          record_comments.ATTACHMENTS.listing("contact"))
    upload_opportunity_attachment = entrypoint(c.ATTACHMENTS.by_resource["opportunity"].UPLOAD,
                                               record_comments.ATTACHMENTS.upload("opportunity"))
    list_opportunity_attachments = entrypoint(c.ATTACHMENTS.by_resource["opportunity"].LIST,
                                              record_comments.ATTACHMENTS.listing("opportunity"))
    upload_quote_attachment = entrypoint(c.ATTACHMENTS.by_resource["quote"].UPLOAD,
                                         record_comments.ATTACHMENTS.upload("quote"))
    list_quote_attachments = entrypoint(c.ATTACHMENTS.by_resource["quote"].LIST,
                                        record_comments.ATTACHMENTS.listing("quote"))
    upload_contract_attachment = entrypoint(c.ATTACHMENTS.by_resource["contract"].UPLOAD,
                                            record_comments.ATTACHMENTS.upload("contract"))
    list_contract_attachments = entrypoint(c.ATTACHMENTS.by_resource["contract"].LIST,
                                           record_comments.ATTACHMENTS.listing("contract"))
    quote_document = entrypoint(c.QUOTE_DOCUMENT, documents.quote_document)
    keep_quote_document = entrypoint(c.KEEP_QUOTE_DOCUMENT, documents.keep_quote_document)
    keep_contract_document = entrypoint(c.KEEP_CONTRACT_DOCUMENT, documents.keep_contract_document)
    attachment_content = entrypoint(c.ATTACHMENTS.CONTENT, record_comments.ATTACHMENTS.content)
    delete_attachment = entrypoint(c.ATTACHMENTS.DELETE, record_comments.ATTACHMENTS.delete)

    # -- timers, and the operators' calls that run them now ----------------------------------
    run_daily = entrypoint(c.RUN_DAILY, scheduled.run_daily)
    run_reminders = entrypoint(c.RUN_REMINDERS, scheduled.run_reminders)
    run_subscriptions = entrypoint(c.RUN_SUBSCRIPTIONS, scheduled.run_subscriptions)
    # upserts by external id (keywords system, external_id): issue 15
    upsert_account = entrypoint(c.UPSERT_ACCOUNT, external_ids.upsert_account)
    upsert_contact = entrypoint(c.UPSERT_CONTACT, external_ids.upsert_contact)
    upsert_product = entrypoint(c.UPSERT_PRODUCT, external_ids.upsert_product)
    bulk_upsert_accounts = entrypoint(c.BULK_UPSERT_ACCOUNTS, external_id_bulk.start_accounts)  # job: self.runner
    get_bulk_upsert_accounts = entrypoint(c.GET_BULK_UPSERT_ACCOUNTS, external_id_bulk.get_accounts)
    bulk_upsert_contacts = entrypoint(c.BULK_UPSERT_CONTACTS, external_id_bulk.start_contacts)
    get_bulk_upsert_contacts = entrypoint(c.GET_BULK_UPSERT_CONTACTS, external_id_bulk.get_contacts)
    bulk_upsert_products = entrypoint(c.BULK_UPSERT_PRODUCTS, external_id_bulk.start_products)
    get_bulk_upsert_products = entrypoint(c.GET_BULK_UPSERT_PRODUCTS, external_id_bulk.get_products)
    upsert_order = entrypoint(c.UPSERT_ORDER, external_ids.upsert_order)
    bulk_upsert_orders = entrypoint(c.BULK_UPSERT_ORDERS, external_id_bulk.start_orders)
    get_bulk_upsert_orders = entrypoint(c.GET_BULK_UPSERT_ORDERS, external_id_bulk.get_orders)

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

    @timer(interval=config.env_float("CRM_SALES_SUBSCRIPTION_INTERVAL", 600.0))
    @service_base.periodic("subscription renewal scan")
    def subscription_renewals(self):
        """Subscriptions due renew, trials convert, cancellations at the period end expire; renewal reminders go
        out N days before (once each, whichever replica runs it)."""
        run(self, scheduled.subscriptions)
