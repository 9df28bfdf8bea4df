"""nameko entrypoints of the sales service: thin, validating, calling plain domain functions."""
from nameko.timer import timer

from crm_common import jobs
import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.dependencies import Database
from crm_common.errors import forbidden
from crm_common.rpc import contract_rpc, rpc
from crm_common import service_base
from crm_common.stream import event_stream

from crm_common import config
from crm_sales import handlers
from crm_sales.domain import (accounts, activities, call_lists, commissions, contacts, expenses, forecast,
                              lead_imports, leads, opportunities, orders, products, quotes, records,
                              sales_contracts, settings, targets, territories)
from crm_sales.models import (Account, Activity, Base, CallList, Contact, Expense, Lead, Opportunity, Order, Product,
                              Quote, SalesContract, Target, Territory)

REMINDER_INTERVAL = config.env_float("CRM_SALES_REMINDER_INTERVAL", 30.0)
REMINDER_BATCH = 500


class SalesService(service_base.KernelService):
    name = "sales"
    db = Database(Base.metadata)
    runner = jobs.JobRunner(Base.metadata, {lead_imports.KIND: lead_imports.run}, metadata_ref="crm_sales.models:Base.metadata")

    @event_stream
    def on_event(self, envelope, session):
        handlers.dispatch(session, envelope, self.db)

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, resource, model, record_id):
        with self.db.transaction() as session:
            return records.load(session, self.db.caller, resource, model, record_id)

    def _page(self, resource, model, query, sortable, search):
        with self.db.transaction() as session:
            return records.page(session, self.db.caller, resource, model, query, sortable, search)

    def _allowed(self, resource: str, action: str = "create") -> None:
        """The route's permission again, in the service: a call that reaches the bus without passing the
        gateway's check (another service, a forged client) is refused here too."""
        if not self.db.caller.can(resource, action):
            raise forbidden(f"your role may not {action} {resource} records")

    def _admin_only(self, detail="for administrators"):
        if not self.db.caller.is_admin:
            raise forbidden(detail)

    # -- leads -----------------------------------------------------------------------------
    @contract_rpc(c.CREATE_LEAD)
    def create_lead(self, data):
        self._allowed("lead")
        with self.db.transaction() as session:
            return leads.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_LEAD)
    def get_lead(self, lead_id):
        return self._get("lead", Lead, lead_id)

    @contract_rpc(c.UPDATE_LEAD)
    def update_lead(self, data, lead_id=None, expected_version=None):
        with self.db.transaction() as session:
            return leads.update(session, self.db.caller, lead_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_LEAD)
    def delete_lead(self, lead_id):
        with self.db.transaction() as session:
            leads.delete(session, self.db.caller, lead_id, self.db.emit)

    @contract_rpc(c.LIST_LEADS)
    def list_leads(self, query):
        if query.get("email"):
            query["email"] = query["email"].strip().lower()
        return self._page("lead", Lead, query, c.LeadFilters.SORTABLE, leads.SEARCH)

    @contract_rpc(c.CONVERT_LEAD)
    def convert_lead(self, data, lead_id=None):
        with self.db.transaction() as session:
            return leads.convert(session, self.db.caller, lead_id, data, self.db.emit)

    @contract_rpc(c.IMPORT_LEADS)
    def import_leads(self, data):
        with self.db.transaction() as session:
            job = lead_imports.start(session, Base.metadata, self.db.caller, data, self.db.request_id)
        self.runner.submit(job["id"])
        return job

    @contract_rpc(c.GET_IMPORT)
    def get_import(self, job_id):
        with self.db.transaction() as session:
            return lead_imports.get(session, Base.metadata, self.db.caller, job_id)

    @contract_rpc(c.CREATE_ASSIGNMENT_RULE)
    def create_assignment_rule(self, data):
        self._allowed("lead", "assign")
        with self.db.transaction() as session:
            return territories.create_rule(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.LIST_ASSIGNMENT_RULES)
    def list_assignment_rules(self, _=None):
        self._allowed("lead", "assign")
        with self.db.transaction() as session:
            return territories.rules(session)

    # -- territories -----------------------------------------------------------------------
    @contract_rpc(c.CREATE_TERRITORY)
    def create_territory(self, data):
        self._allowed("territory")
        with self.db.transaction() as session:
            return territories.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_TERRITORY)
    def get_territory(self, territory_id):
        return self._get("territory", Territory, territory_id)

    @contract_rpc(c.UPDATE_TERRITORY)
    def update_territory(self, data, territory_id=None, expected_version=None):
        with self.db.transaction() as session:
            return territories.update(session, self.db.caller, territory_id, data, expected_version, self.db.emit)

    @contract_rpc(c.LIST_TERRITORIES)
    def list_territories(self, query):
        country = query.pop("country", None)
        page = self._page("territory", Territory, query, c.TerritoryFilters.SORTABLE, territories.SEARCH)
        if country:
            page["items"] = [t for t in page["items"] if country in (t.countries or [])]
        return page

    # -- accounts --------------------------------------------------------------------------
    @contract_rpc(c.CREATE_ACCOUNT)
    def create_account(self, data):
        with self.db.transaction() as session:
            return accounts.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_ACCOUNT)
    def get_account(self, account_id):
        return self._get("account", Account, account_id)

    @contract_rpc(c.UPDATE_ACCOUNT)
    def update_account(self, data, account_id=None, expected_version=None):
        with self.db.transaction() as session:
            return accounts.update(session, self.db.caller, account_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_ACCOUNT)
    def delete_account(self, account_id):
        with self.db.transaction() as session:
            accounts.delete(session, self.db.caller, account_id, self.db.emit)

    @contract_rpc(c.LIST_ACCOUNTS)
    def list_accounts(self, query):
        return self._page("account", Account, query, c.AccountFilters.SORTABLE, accounts.SEARCH)

    @contract_rpc(c.MERGE_ACCOUNTS)
    def merge_accounts(self, data, account_id=None):
        with self.db.transaction() as session:
            return accounts.merge(session, self.db.caller, account_id, data["merge_ids"], self.db.emit)

    # -- contacts --------------------------------------------------------------------------
    @contract_rpc(c.CREATE_CONTACT)
    def create_contact(self, data):
        with self.db.transaction() as session:
            return contacts.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_CONTACT)
    def get_contact(self, contact_id):
        return self._get("contact", Contact, contact_id)

    @contract_rpc(c.UPDATE_CONTACT)
    def update_contact(self, data, contact_id=None, expected_version=None):
        with self.db.transaction() as session:
            return contacts.update(session, self.db.caller, contact_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_CONTACT)
    def delete_contact(self, contact_id):
        with self.db.transaction() as session:
            contacts.delete(session, self.db.caller, contact_id, self.db.emit)

    @contract_rpc(c.LIST_CONTACTS)
    def list_contacts(self, query):
        return self._page("contact", Contact, query, c.ContactFilters.SORTABLE, contacts.SEARCH)

    @contract_rpc(c.MERGE_CONTACTS)
    def merge_contacts(self, data, contact_id=None):
        with self.db.transaction() as session:
            return contacts.merge(session, self.db.caller, contact_id, data["merge_ids"], self.db.emit)

    # -- opportunities ---------------------------------------------------------------------
    @contract_rpc(c.CREATE_OPPORTUNITY)
    def create_opportunity(self, data):
        with self.db.transaction() as session:
            return opportunities.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_OPPORTUNITY)
    def get_opportunity(self, opportunity_id):
        return self._get("opportunity", Opportunity, opportunity_id)

    @contract_rpc(c.UPDATE_OPPORTUNITY)
    def update_opportunity(self, data, opportunity_id=None, expected_version=None):
        with self.db.transaction() as session:
            return opportunities.update(session, self.db.caller, opportunity_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_OPPORTUNITY)
    def delete_opportunity(self, opportunity_id):
        with self.db.transaction() as session:
            opportunities.delete(session, self.db.caller, opportunity_id, self.db.emit)

    @contract_rpc(c.LIST_OPPORTUNITIES)
    def list_opportunities(self, query):
        return self._page("opportunity", Opportunity, query, c.OpportunityFilters.SORTABLE, opportunities.SEARCH)

    @contract_rpc(c.OPPORTUNITY_HISTORY)
    def opportunity_history(self, opportunity_id):
        with self.db.transaction() as session:
            return {"items": opportunities.history(session, self.db.caller, opportunity_id)}

    @contract_rpc(c.CREATE_PIPELINE)
    def create_pipeline(self, data):
        with self.db.transaction() as session:
            return opportunities.create_pipeline(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.LIST_PIPELINES)
    def list_pipelines(self, _=None):
        self._allowed("opportunity", "read")
        with self.db.transaction() as session:
            return {"items": opportunities.pipelines(session)}

    # -- products, quotes, orders, contracts ------------------------------------------------
    @contract_rpc(c.CREATE_PRODUCT)
    def create_product(self, data):
        self._allowed("product")
        with self.db.transaction() as session:
            return products.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_PRODUCT)
    def get_product(self, product_id):
        return self._get("product", Product, product_id)

    @contract_rpc(c.UPDATE_PRODUCT)
    def update_product(self, data, product_id=None, expected_version=None):
        with self.db.transaction() as session:
            return products.update(session, self.db.caller, product_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_PRODUCT)
    def delete_product(self, product_id):
        with self.db.transaction() as session:
            products.delete(session, self.db.caller, product_id, self.db.emit)

    @contract_rpc(c.LIST_PRODUCTS)
    def list_products(self, query):
        return self._page("product", Product, query, c.ProductFilters.SORTABLE, products.SEARCH)

    @contract_rpc(c.CREATE_QUOTE)
    def create_quote(self, data):
        self._allowed("quote")
        with self.db.transaction() as session:
            return quotes.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_QUOTE)
    def get_quote(self, quote_id):
        return self._get("quote", Quote, quote_id)

    @contract_rpc(c.UPDATE_QUOTE)
    def update_quote(self, data, quote_id=None, expected_version=None):
        with self.db.transaction() as session:
            return quotes.update(session, self.db.caller, quote_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_QUOTE)
    def delete_quote(self, quote_id):
        with self.db.transaction() as session:
            quotes.delete(session, self.db.caller, quote_id, self.db.emit)

    @contract_rpc(c.LIST_QUOTES)
    def list_quotes(self, query):
        return self._page("quote", Quote, query, c.QuoteFilters.SORTABLE, ())

    @contract_rpc(c.APPROVE_QUOTE)
    def approve_quote(self, quote_id):
        with self.db.transaction() as session:
            return quotes.act(session, self.db.caller, quote_id, "approve", self.db.emit)

    @contract_rpc(c.SEND_QUOTE)
    def send_quote(self, quote_id):
        with self.db.transaction() as session:
            return quotes.act(session, self.db.caller, quote_id, "send", self.db.emit)

    @contract_rpc(c.REJECT_QUOTE)
    def reject_quote(self, quote_id):
        with self.db.transaction() as session:
            return quotes.act(session, self.db.caller, quote_id, "reject", self.db.emit)

    @contract_rpc(c.ACCEPT_QUOTE)
    def accept_quote(self, quote_id):
        with self.db.transaction() as session:
            return orders.accept(session, self.db.caller, quote_id, self.db.emit)

    @contract_rpc(c.GET_ORDER)
    def get_order(self, order_id):
        return self._get("order", Order, order_id)

    @contract_rpc(c.UPDATE_ORDER)
    def update_order(self, data, order_id=None, expected_version=None):
        with self.db.transaction() as session:
            return orders.update_order(session, self.db.caller, order_id, data, expected_version, self.db.emit)

    @contract_rpc(c.LIST_ORDERS)
    def list_orders(self, query):
        return self._page("order", Order, query, c.OrderFilters.SORTABLE, ())

    @contract_rpc(c.CREATE_CONTRACT)
    def create_contract(self, data):
        self._allowed("contract")
        with self.db.transaction() as session:
            return sales_contracts.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_CONTRACT)
    def get_contract(self, contract_id):
        return self._get("contract", SalesContract, contract_id)

    @contract_rpc(c.UPDATE_CONTRACT)
    def update_contract(self, data, contract_id=None, expected_version=None):
        with self.db.transaction() as session:
            return sales_contracts.update(session, self.db.caller, contract_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_CONTRACT)
    def delete_contract(self, contract_id):
        with self.db.transaction() as session:
            sales_contracts.delete(session, self.db.caller, contract_id, self.db.emit)

    @contract_rpc(c.LIST_CONTRACTS)
    def list_contracts(self, query):
        return self._page("contract", SalesContract, query, c.ContractFilters.SORTABLE, ())

    @contract_rpc(c.CONTRACT_DOCUMENT)
    def contract_document(self, contract_id):
        with self.db.transaction() as session:
            return sales_contracts.document(session, self.db.caller, contract_id, self.db.emit,
                                       seller=config.env("CRM_SELLER_NAME", "CRM Suite Sales"))

    @timer(interval=config.env_float("CRM_SALES_DAILY_INTERVAL", 3600.0))
    @service_base.periodic("daily sales run")
    def daily(self):
        """Contracts start, expire and remind before their end; accounts without orders churn."""
        with self.db.transaction() as session:
            sales_contracts.run_lifecycle(session, self.db.emit)
            accounts.mark_churned(session, self.db.emit)

    @rpc
    def run_daily(self):
        """The daily work now (operators, tests)."""
        self._admin_only()
        with self.db.transaction() as session:
            counts = sales_contracts.run_lifecycle(session, self.db.emit)
            counts["churned"] = accounts.mark_churned(session, self.db.emit)
        return counts

    # -- activities, calendar, call lists --------------------------------------------------
    @contract_rpc(c.CREATE_ACTIVITY)
    def create_activity(self, data):
        self._allowed("activity")
        with self.db.transaction() as session:
            return activities.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_ACTIVITY)
    def get_activity(self, activity_id):
        return self._get("activity", Activity, activity_id)

    @contract_rpc(c.UPDATE_ACTIVITY)
    def update_activity(self, data, activity_id=None, expected_version=None):
        with self.db.transaction() as session:
            return activities.update(session, self.db.caller, activity_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_ACTIVITY)
    def delete_activity(self, activity_id):
        with self.db.transaction() as session:
            activities.delete(session, self.db.caller, activity_id, self.db.emit)

    @contract_rpc(c.LIST_ACTIVITIES)
    def list_activities(self, query):
        return self._page("activity", Activity, query, c.ActivityFilters.SORTABLE, activities.SEARCH)

    @contract_rpc(c.CALENDAR)
    def calendar(self, query):
        with self.db.transaction() as session:
            return {"items": activities.calendar(session, self.db.caller, query)}

    @contract_rpc(c.CREATE_CALL_LIST)
    def create_call_list(self, data):
        self._allowed("call_list")
        with self.db.transaction() as session:
            return call_lists.create_call_list(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_CALL_LIST)
    def get_call_list(self, call_list_id):
        return self._get("call_list", CallList, call_list_id)

    @contract_rpc(c.LIST_CALL_LISTS)
    def list_call_lists(self, query):
        return self._page("call_list", CallList, query, c.CallListFilters.SORTABLE, ())

    @contract_rpc(c.LOG_CALL)
    def log_call(self, data, call_list_id=None):
        with self.db.transaction() as session:
            return call_lists.log_call(session, self.db.caller, call_list_id, data, self.db.emit)

    @timer(interval=REMINDER_INTERVAL)
    @service_base.periodic("activity reminder scan")
    def reminders(self):
        """Activities whose reminder time came are announced (sales.activity_reminder_due.v1), once each."""
        self._send_reminders()

    @rpc
    def run_reminders(self):
        """The reminder scan now (operators, tests): how many reminders went out."""
        self._admin_only()
        return self._send_reminders()

    def _send_reminders(self) -> int:
        total = 0
        while True:
            with self.db.transaction() as session:
                sent = activities.send_due_reminders(session, utcnow(), self.db.emit, REMINDER_BATCH)
            total += sent
            if sent < REMINDER_BATCH:
                return total

    # -- targets, forecast, commissions, expenses ------------------------------------------
    @contract_rpc(c.CREATE_TARGET)
    def create_target(self, data):
        self._allowed("target")
        with self.db.transaction() as session:
            return targets.create_target(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_TARGET)
    def get_target(self, target_id):
        return self._get("target", Target, target_id)

    @contract_rpc(c.UPDATE_TARGET)
    def update_target(self, data, target_id=None, expected_version=None):
        with self.db.transaction() as session:
            return targets.update_target(session, self.db.caller, target_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_TARGET)
    def delete_target(self, target_id):
        with self.db.transaction() as session:
            targets.delete_target(session, self.db.caller, target_id, self.db.emit)

    @contract_rpc(c.LIST_TARGETS)
    def list_targets(self, query):
        return self._page("target", Target, query, c.TargetFilters.SORTABLE, ())

    @contract_rpc(c.FORECAST)
    def forecast(self, query):
        with self.db.transaction() as session:
            return forecast.forecast(session, self.db.caller, query)

    @contract_rpc(c.COMMISSIONS)
    def commissions(self, query):
        with self.db.transaction() as session:
            return commissions.commissions(session, self.db.caller, query)

    @contract_rpc(c.CREATE_EXPENSE)
    def create_expense(self, data):
        self._allowed("expense")
        with self.db.transaction() as session:
            return expenses.create(session, self.db.caller, data, self.db.emit)

    @contract_rpc(c.GET_EXPENSE)
    def get_expense(self, expense_id):
        return self._get("expense", Expense, expense_id)

    @contract_rpc(c.UPDATE_EXPENSE)
    def update_expense(self, data, expense_id=None, expected_version=None):
        with self.db.transaction() as session:
            return expenses.update(session, self.db.caller, expense_id, data, expected_version, self.db.emit)

    @contract_rpc(c.DELETE_EXPENSE)
    def delete_expense(self, expense_id):
        with self.db.transaction() as session:
            expenses.delete(session, self.db.caller, expense_id, self.db.emit)

    @contract_rpc(c.LIST_EXPENSES)
    def list_expenses(self, query):
        return self._page("expense", Expense, query, c.ExpenseFilters.SORTABLE, ())

    @contract_rpc(c.DECIDE_EXPENSE)
    def decide_expense(self, data, expense_id=None, approve=False):
        with self.db.transaction() as session:
            return expenses.decide(session, self.db.caller, expense_id, bool(approve), data.get("note"),
                                   self.db.emit)

    # -- settings --------------------------------------------------------------------------
    @contract_rpc(c.GET_SETTINGS)
    def get_settings(self, _=None):
        self._allowed("forecast", "read")
        with self.db.transaction() as session:
            return settings.all_values(session)

    @contract_rpc(c.UPDATE_SETTINGS)
    def update_settings(self, values):
        self._admin_only("sales settings are for administrators")
        with self.db.transaction() as session:
            return settings.update(session, dict(values or {}), self.db.emit)
