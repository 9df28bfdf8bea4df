"""Subscriptions: plans, a customer's subscriptions (change of plan with proration, cancellation, renewal),
subscriptions to content, and the recurring-revenue figures (MRR, ARR, movements, net revenue retention)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Day, DecimalString, Money, Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import Currency, EntityData, Id, Name, TextUpTo

PERIODS = ("month", "quarter", "year")
SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "paused", "cancelled", "expired")
SETTABLE_STATUSES = ("active", "past_due", "paused")
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "none")
TOPICS = ("newsletter", "product_updates", "events", "webinars")
MONTH_RE = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"


# -- plans -------------------------------------------------------------------------------------------

class PlanCreate(Strict):
    RULES = (existing("product_id"),)

    name = Name(required=True)
    product_id = Id(allow_none=True)
    price = Money(required=True, minimum=0, metadata={"description": "per unit and billing period"})
    currency = Currency(required=True)
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    trial_days = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=365))
    renewal_reminder_days = fields.Integer(strict=True, load_default=7, validate=validate.Range(min=0, max=365))
    active = Boolean(load_default=True)


class PlanUpdate(Patch):
    name = Name()
    active = Boolean()
    renewal_reminder_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))


class Plan(Record):
    name = fields.String()
    product_id = fields.String(allow_none=True)
    price = Money()
    currency = fields.String()
    period = fields.String()
    trial_days = fields.Integer()
    renewal_reminder_days = fields.Integer()
    active = Boolean()


class PlanFilters(Schema):
    SORTABLE = ("created_at", "name", "price")
    active = fields.Boolean()
    currency = Currency()
    period = fields.String(validate=validate.OneOf(PERIODS))
    product_id = Id()


PlanListQuery = list_query("PlanListQuery", PlanFilters)
PlanPage = page(Plan, "PlanPage")


# -- subscriptions -----------------------------------------------------------------------------------

class SubscriptionCreate(Strict):
    RULES = (existing("account_id", "plan_id") + " (an active plan)", "starts_on is a day from 1900 to 2900")

    account_id = Id(required=True)
    plan_id = Id(required=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    starts_on = Day(metadata={"description": "today when not given"})


class SubscriptionUpdate(Patch):
    status = fields.String(required=True, validate=validate.OneOf(SETTABLE_STATUSES),
                           metadata={"description": "pause, resume, or mark past due"})


class Subscription(Record):
    account_id = fields.String()
    plan_id = fields.String()
    owner_id = fields.String(allow_none=True)
    quantity = fields.Integer()
    status = fields.String()
    starts_on = Day()
    period_start = Day()
    renews_on = Day(allow_none=True)
    trial_ends_on = Day(allow_none=True)
    mrr = Money()
    currency = fields.String()
    cancel_at_period_end = Boolean()
    cancelled_at = Timestamp(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    ended_on = Day(allow_none=True)


class SubscriptionFilters(Schema):
    SORTABLE = ("created_at", "renews_on", "mrr")
    account_id = Id()
    plan_id = Id()
    status = fields.String(validate=validate.OneOf(SUBSCRIPTION_STATUSES))
    owner_id = Id()


SubscriptionListQuery = list_query("SubscriptionListQuery", SubscriptionFilters)
SubscriptionPage = page(Subscription, "SubscriptionPage")


class ChangePlan(Strict):
    RULES = (existing("plan_id") + " (an active plan in the subscription's currency)",
             "the new plan or quantity differs from the current one")

    plan_id = Id(required=True)
    quantity = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000))


class Proration(Schema):
    amount = fields.String(metadata={"description": "to charge (negative: to credit), a decimal string"})
    currency = fields.String()
    days_left = fields.Integer()
    days_in_period = fields.Integer()


class PlanChanged(Schema):
    subscription = fields.Nested(Subscription)
    proration = fields.Nested(Proration)


class Cancel(Strict):
    reason = TextUpTo(500, required=True)
    at_period_end = Boolean(load_default=False, metadata={"description": "keep it until its renewal date"})


class MetricsQuery(Strict):
    month = fields.String(required=True, validate=validate.Regexp(MONTH_RE, error="like 2026-12"))
    currency = Currency(load_default="EUR")


class Metrics(Schema):
    month = fields.String()
    currency = fields.String()
    mrr = fields.String(metadata={"description": "at the end of the month"})
    arr = fields.String()
    new = fields.String()
    expansion = fields.String()
    contraction = fields.String()
    churned = fields.String()
    reactivation = fields.String()
    starting_mrr = fields.String()
    nrr = fields.String(allow_none=True, metadata={"description": "net revenue retention over the month, 0 to n "
                                                                  "(1 = kept all); null without starting MRR"})


# -- content subscriptions (newsletters, product updates) --------------------------------------------

class ContentSubscriptionIn(Strict):
    RULES = (existing("contact_id", "product_id"),)

    contact_id = Id(required=True)
    topic = fields.String(required=True, validate=validate.OneOf(TOPICS))
    product_id = Id(allow_none=True, metadata={"description": "product updates of one product"})


class ContentSubscription(Record):
    contact_id = fields.String()
    account_id = fields.String(allow_none=True)
    topic = fields.String()
    product_id = fields.String(allow_none=True)
    subscribed = Boolean()


class ContentSubscriptionFilters(Schema):
    SORTABLE = ("created_at",)
    contact_id = Id()
    topic = fields.String(validate=validate.OneOf(TOPICS))
    subscribed = fields.Boolean()


ContentSubscriptionListQuery = list_query("ContentSubscriptionListQuery", ContentSubscriptionFilters)
ContentSubscriptionPage = page(ContentSubscription, "ContentSubscriptionPage")


# -- events ------------------------------------------------------------------------------------------

class SubscriptionEventData(EntityData):
    account_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    quantity = fields.Integer(required=True)
    status = fields.String(required=True)
    currency = fields.String(required=True)
    movement = fields.String(required=True, validate=validate.OneOf(MOVEMENTS),
                             metadata={"description": "how the MRR moved with this change"})
    mrr_before = fields.String(required=True)
    mrr_after = fields.String(required=True)
    effective_on = Day(required=True)
    renews_on = Day(allow_none=True)
    changed_fields = fields.List(fields.String())
    proration = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class RenewalDueData(EntityData):
    account_id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    plan_id = fields.String(required=True)
    renews_on = Day(required=True)
    days_before = fields.Integer(required=True)


class ContentSubscriptionData(EntityData):
    contact_id = fields.String(required=True)
    email = fields.String(allow_none=True, metadata={"description": "the contact's address (consent matching)"})
    topic = fields.String(required=True)
    product_id = fields.String(allow_none=True)
    subscribed = fields.Boolean(required=True)


def _sub_event(name: str, action: str, what: str) -> str:
    return event("sales", f"subscription_{name}", 1, SubscriptionEventData, what, entity="subscription",
                 action=action)


SUBSCRIPTION_CREATED = _sub_event("created", "create", "A customer subscribed (movement new; trial: none).")
SUBSCRIPTION_CHANGED = _sub_event("changed", "update", "Plan or quantity changed (expansion or contraction), or "
                                                        "the status was set (paused, resumed, past due).")
SUBSCRIPTION_RENEWED = _sub_event("renewed", "update", "A period ended and the next began (a trial converts: "
                                                        "movement new).")
SUBSCRIPTION_CANCELLED = _sub_event("cancelled", "update", "Cancelled now (movement churn) or at the period end.")
SUBSCRIPTION_EXPIRED = _sub_event("expired", "update", "Ended at its renewal date after a cancellation at the "
                                                        "period end (movement churn).")
SUBSCRIPTION_RENEWAL_DUE = event("sales", "subscription_renewal_due", 1, RenewalDueData,
                                 "A subscription renews in N days (the plan's renewal_reminder_days): sent once "
                                 "per renewal date.")
CONTENT_SUBSCRIPTION_CHANGED = event("sales", "content_subscription_changed", 1, ContentSubscriptionData,
                                     "A contact subscribed to or left a content topic (newsletter, product "
                                     "updates): marketing's consent and segments read it.",
                                     entity="content_subscription", action="update")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_PLANS = rpc("sales", "list_plans", PlanListQuery, PlanPage, permission=("plan", "read"))
CREATE_PLAN = rpc("sales", "create_plan", PlanCreate, Plan, permission=("plan", "create"))
GET_PLAN = rpc("sales", "get_plan", None, Plan, permission=("plan", "read"), record=True)
UPDATE_PLAN = rpc("sales", "update_plan", PlanUpdate, Plan, permission=("plan", "update"), record=True)

LIST_SUBSCRIPTIONS = rpc("sales", "list_subscriptions", SubscriptionListQuery, SubscriptionPage,
                         permission=("subscription", "read"))
CREATE_SUBSCRIPTION = rpc("sales", "create_subscription", SubscriptionCreate, Subscription,
                          permission=("subscription", "create"))
GET_SUBSCRIPTION = rpc("sales", "get_subscription", None, Subscription, permission=("subscription", "read"),
                       record=True)
UPDATE_SUBSCRIPTION = rpc("sales", "update_subscription", SubscriptionUpdate, Subscription,
                          permission=("subscription", "update"), record=True,
                          description="Pause, resume or mark past due (409: not possible in its status).")
CHANGE_PLAN = rpc("sales", "change_subscription_plan", ChangePlan, PlanChanged, permission=("subscription", "update"),
                  record=True, description="Upgrade or downgrade now, prorated by days left in the period "
                                           "(409: cancelled or expired).")
CANCEL_SUBSCRIPTION = rpc("sales", "cancel_subscription", Cancel, Subscription, permission=("subscription", "update"),
                          record=True, description="Cancel now or at the period end (409: ended already).")
SUBSCRIPTION_METRICS = rpc("sales", "subscription_metrics", MetricsQuery, Metrics,
                           permission=("subscription", "read"),
                           description="MRR, ARR, new, expansion, contraction and churned MRR of a month, and net "
                                       "revenue retention, over the subscriptions the caller may read.")
LIST_CONTENT_SUBSCRIPTIONS = rpc("sales", "list_content_subscriptions", ContentSubscriptionListQuery,
                                 ContentSubscriptionPage, permission=("subscription", "read"))
SUBSCRIBE_CONTENT = rpc("sales", "subscribe_content", ContentSubscriptionIn, ContentSubscription,
                        permission=("subscription", "create"),
                        description="A contact subscribes to a topic (again: the same record, subscribed).")
UNSUBSCRIBE_CONTENT = rpc("sales", "unsubscribe_content", None, ContentSubscription,
                          permission=("subscription", "update"), record=True)
RUN_SUBSCRIPTIONS = rpc("sales", "run_subscriptions", None, None,
                        description="The renewal and reminder scan now, as of a day (administrators: operators, "
                                    "tests): {renewed, expired, reminded}.")
