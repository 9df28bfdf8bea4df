"""The read models, defined once per generation (`an_<name>_<gen>`): what the figures are computed from.

Every model a scope applies to carries `owner_id` and, where the source has them, `team_id` / `territory_id`,
so crm_common.scope filters it as the producing service filters its records.
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import (JSON, Boolean, Column, Date, Index, Integer, MetaData, Numeric, SmallInteger, String, Table,
                        text)

from crm_common.types import UTCDateTime

from crm_analytics.projections import ticket_sums

NAMES = ("opportunities", "stage_history", "leads", "accounts", "orders", "contracts", "activities", "tickets",
         "surveys", "complaints", "campaigns", "campaign_stats", "subscriptions", "mrr_movements", "targets",
         "custom_fields", "opportunity_sums", "stage_times", "ticket_sums", "ticket_times", "ticket_days",
         "ticket_day_times", "ticket_day_accounts", "ticket_month_accounts", "ticket_day_marks", "group_members")


def _id():
    return Column("id", String(64), primary_key=True)


def _scope(team=True, territory=True):
    cols = [Column("owner_id", String(64), nullable=True)]
    if team:
        cols.append(Column("team_id", String(64), nullable=True))
    if territory:
        cols.append(Column("territory_id", String(64), nullable=True))
    return cols


def _money(name):
    return Column(name, Numeric(18, 2), nullable=True)


def _at(name):
    return Column(name, UTCDateTime(), nullable=True)


def _dated(name):
    """A report source's date (domain/report_sources.py), which every projection that makes the row sets (its first
    event's time; an activity's start): never NULL, so a report's page walks its index newest first (reports.rows)."""
    return Column(name, UTCDateTime(), nullable=False)


def _s(name, length=64):
    return Column(name, String(length), nullable=True)


def _custom():
    """The record's custom field values as its last event carried them ({name: value}; crm_common.records)."""
    return Column("custom_fields", JSON, nullable=True)


def define(metadata: MetaData, gen: str) -> SimpleNamespace:
    def table(name, *cols, indexes=()):
        full = f"an_{name}_{gen}"
        return Table(full, metadata, *cols, *[Index(f"ix_{full}_{'_'.join(i)}", *i) for i in indexes])

    def covering(name, columns, include, where=None):
        """PostgreSQL: an index a figure reads alone (index-only scan: the rows' other columns are not read);
        SQLite: a plain index on `columns`."""
        full = f"an_{name}_{gen}"
        return Index(f"ix_{full}_{'_'.join(columns)}_covering", *columns, postgresql_include=list(include),
                     postgresql_where=where)

    t = SimpleNamespace(gen=gen)
    t.opportunities = table(
        "opportunities", _id(), _s("name", 300), _s("account_id"), _s("contact_id"), *_scope(),
        _money("amount"), _s("currency", 3), _s("stage", 60), Column("probability", Integer, nullable=True), _at("event_at"),
        Column("expected_close_date", Date, nullable=True), _s("campaign_id"), _s("source", 60), _s("lead_id"),
        _s("status", 10), _s("lost_reason", 200), _dated("created_at"), _at("stage_entered_at"), _at("closed_at"),
        _custom(), covering("opportunities", ("status", "closed_at"),  # the sales cycle's deals won
                            ("created_at", "owner_id", "team_id", "territory_id")),
        # PostgreSQL only: the deals won in owner order and, per owner, in order of their days to the win (the sales
        # cycle by owner, and a rep's: grouped with no sort by owner, each owner's quantiles over presorted values)
        Index(f"ix_an_opportunities_{gen}_won_by_owner", "owner_id", text("date_part('epoch', closed_at - created_at)"),
              postgresql_include=["closed_at", "created_at"],
              postgresql_where=text("status = 'won' AND closed_at IS NOT NULL")).ddl_if(dialect="postgresql"),
        indexes=[("owner_id",), ("account_id",)])  # status and closed_at: the covering index (EXPLAIN: every
    # route's query over them plans as well or better without (status, stage) and (closed_at); each index is upkeep
    # on every deal the projection writes)
    t.opportunity_sums = table(  # opportunities pre-aggregated (projections/sums.py): what the figures sum
        "opportunity_sums", Column("key", String(400), primary_key=True), _s("status", 10), _s("stage", 60),
        _s("currency", 3), *_scope(), _s("source", 60), _s("campaign_id"),
        Column("expected_close_date", Date, nullable=True), Column("closed_on", Date, nullable=True),
        Column("deals", Integer, nullable=False, default=0), _money("amount"),
        Column("weighted", Numeric(24, 4), nullable=True), _money("commit"),
        indexes=[("status", "closed_on")])
    t.stage_history = table(
        "stage_history", Column("seq", Integer, primary_key=True, autoincrement=True), _s("opportunity_id"),
        *_scope(), _s("stage", 60), _at("entered_at"), _at("left_at"),
        covering("stage_history", ("stage", "left_at"), ("entered_at", "owner_id", "team_id", "territory_id"),
                 where=text("left_at IS NOT NULL")),  # the time in each stage left
        Index(f"ix_an_stage_history_{gen}_opportunity_id_open", "opportunity_id",  # the projection's open stages
              postgresql_where=text("left_at IS NULL"), sqlite_where=text("left_at IS NULL")),
        # PostgreSQL only: each stay in seconds of the rows left, read by domain/time_in_stage.py
        Index(f"ix_an_stage_history_{gen}_stage_seconds", "stage", text("date_part('epoch', left_at - entered_at)"),
              postgresql_include=["left_at", "entered_at"], postgresql_where=text("left_at IS NOT NULL"))
        .ddl_if(dialect="postgresql"))
    t.stage_times = table(  # the stays in each stage pre-counted per whole hour (projections/stage_times.py)
        "stage_times", Column("stage", String(60), primary_key=True), Column("hour", Integer, primary_key=True),
        Column("stays", Integer, nullable=False, default=0), Column("total", Numeric(24, 6), nullable=True),
        Column("shortest", Numeric(24, 6), nullable=True), Column("longest", Numeric(24, 6), nullable=True))
    t.leads = table(
        "leads", _id(), *_scope(), _s("source", 60), _s("campaign_id"), _s("status", 30),
        Column("score", Integer, nullable=True), _dated("created_at"), _at("converted_at"), _s("account_id"),
        _s("opportunity_id"), _custom(), indexes=[("created_at",), ("owner_id",), ("opportunity_id",)])
    t.accounts = table(
        "accounts", _id(), _s("name", 300), *_scope(team=False), _s("industry", 60), _s("country", 2),
        _s("lifecycle_stage", 30), _dated("created_at"), _custom(), indexes=[("owner_id",)])
    t.orders = table(
        "orders", _id(), _s("account_id"), *_scope(team=False, territory=False), _s("status", 30),
        _money("total"), _s("currency", 3), _dated("placed_at"), indexes=[("account_id",), ("placed_at",)])
    t.contracts = table(
        "contracts", _id(), _s("account_id"), _s("status", 30), _money("value"), _s("currency", 3),
        Column("starts_on", Date, nullable=True), Column("ends_on", Date, nullable=True), _at("signed_at"),
        indexes=[("account_id",)])
    t.activities = table(
        "activities", _id(), *_scope(team=False, territory=False), _s("type", 30), _s("account_id"),
        _s("opportunity_id"), _s("lead_id"), _dated("occurred_at"), indexes=[("owner_id",), ("account_id",)])
    t.tickets = table(
        "tickets", _id(), _s("number", 20), _s("account_id"), _s("contact_id"),
        *_scope(territory=False), _s("group_id"), _s("created_by"), _s("channel", 20), _s("priority", 10),
        _s("type", 20),
        _s("status", 20), _s("sla_policy_id"), _at("event_at"), _dated("created_at"), _at("first_responded_at"),
        _at("solved_at"),
        _at("closed_at"), Column("reopened", Integer, nullable=False, default=0),
        Column("first_response_breached", Boolean, nullable=False, default=False),
        Column("resolution_breached", Boolean, nullable=False, default=False), _custom(),
        # a report filtered by status, its page newest first and its count (reports.rows); PostgreSQL: the channel
        # included (in the key's alignment padding: no larger), so a status and channel filter's count is an
        # index-only scan, not a heap fetch per ticket of that status
        Index(f"ix_an_tickets_{gen}_status_created_at", "status", "created_at", postgresql_include=["channel"]),
        # (created_at, account_id): a dated service query's top accounts by an index-only scan of its range, and a
        # report's page newest first (its leading column read backward)
        # group_id and created_by: with owner_id, the three ways a ticket is a support agent's or a rep's to read
        # (domain/filters.py, tickets_readable), each an index's key so that their OR is a union of index reads,
        # not a scan; (group_id, account_id): a support agent's groups' top accounts by an index-only scan; the
        # group after the assignee and the opener: their tickets outside their groups by index ranges
        # (domain/service_groups.py)
        indexes=[("owner_id", "group_id"), ("account_id",), ("created_at", "account_id"), ("group_id", "account_id"),
                 ("created_by", "group_id")])
    t.group_members = table(  # the service desk's support groups' agents (its config events), one row each
        "group_members", Column("id", String(160), primary_key=True), _s("group_id"), _s("user_id"),
        indexes=[("group_id",), ("user_id",)])
    # the small pre-counted tables every batch updates in place (ticket_sums, campaign_stats, stage_times): on
    # PostgreSQL fillfactor 20 (migration e61ec85864d0), room on each page for the rows' new versions
    t.ticket_sums = table(  # tickets pre-counted per dimension and value (projections/ticket_sums.py)
        "ticket_sums", Column("dimension", String(40), primary_key=True),
        Column("value", String(240), primary_key=True),  # a crossing's parts: tgcp's four (ids of 64) and SEPs
        *[Column(n, Integer, nullable=False, default=0) for n in ticket_sums.COUNTS])
    t.ticket_times = table(  # their first response and resolution times pre-counted in buckets (the same)
        "ticket_times", Column("dimension", String(10), primary_key=True),
        Column("value", String(160), primary_key=True),  # tg: a team and a group (ids of 64) and SEP
        Column("measure", String(20), primary_key=True), Column("bucket", Integer, primary_key=True),
        Column("tickets", Integer, nullable=False, default=0))
    # the tickets counted per day of creation (UTC), off the projection's path (domain/ticket_days.py): a timer counts
    # the days the projection marked (ticket_day_marks.state: ticket_days.CHANGED, COUNTING, COUNTED)
    t.ticket_days = table(  # per day x channel x SLA policy (value: the two parts as kept, joined by ticket_sums.SEP)
        "ticket_days", Column("day", Date, primary_key=True), Column("value", String(160), primary_key=True),
        *[Column(n, Integer, nullable=False, default=0) for n in ticket_sums.COUNTS])
    t.ticket_day_times = table(  # per day, the times' buckets (ticket_sums.bucket)
        "ticket_day_times", Column("day", Date, primary_key=True), Column("measure", String(20), primary_key=True),
        Column("bucket", Integer, primary_key=True), Column("tickets", Integer, nullable=False, default=0))
    t.ticket_day_accounts = table(  # per day, the tickets of each account (those with one)
        "ticket_day_accounts", Column("day", Date, primary_key=True), Column("account_id", String(64), primary_key=True),
        Column("tickets", Integer, nullable=False, default=0))
    t.ticket_month_accounts = table(  # per month (its first day), the same summed over its days counted
        "ticket_month_accounts", Column("month", Date, primary_key=True),
        Column("account_id", String(64), primary_key=True), Column("tickets", Integer, nullable=False, default=0))
    t.ticket_day_marks = table(  # a day counted, being counted or changed since; no row: never counted
        "ticket_day_marks", Column("day", Date, primary_key=True), Column("state", SmallInteger, nullable=False))
    t.surveys = table(
        "surveys", _id(), _s("ticket_id"), _s("kind", 10), Column("score", Integer, nullable=True),
        _s("contact_id"), _s("account_id"), *_scope(territory=False), _at("answered_at"),
        indexes=[("account_id",)])
    t.complaints = table(
        "complaints", _id(), _s("ticket_id"), _s("account_id"), *_scope(territory=False), _s("category", 60),
        _s("root_cause", 200), _s("status", 20), _at("opened_at"), _at("resolved_at"),
        Column("on_time", Boolean, nullable=True), indexes=[("account_id",)])
    t.campaigns = table(
        "campaigns", _id(), _s("name", 300), _s("type", 30), _s("status", 20), _money("cost"),
        _s("currency", 3), _at("created_at"), Column("deleted", Boolean, nullable=False, default=False))
    t.campaign_stats = table(
        "campaign_stats", Column("campaign_id", String(64), primary_key=True),
        Column("variant", String(64), primary_key=True),
        *[Column(n, Integer, nullable=False, default=0)
          for n in ("sent", "opened", "clicked", "unsubscribed", "bounced", "complained")])
    t.subscriptions = table(
        "subscriptions", _id(), _s("account_id"), *_scope(team=False, territory=False), _s("plan_id"),
        Column("quantity", Integer, nullable=True), _s("status", 20), _s("currency", 3), _money("mrr"),
        Column("started_on", Date, nullable=True), Column("renews_on", Date, nullable=True), _at("event_at"),
        indexes=[("account_id",), ("owner_id",)])
    t.mrr_movements = table(  # one row per subscription event that moved its MRR
        "mrr_movements", Column("event_id", String(64), primary_key=True), _s("subscription_id"), _s("account_id"),
        *_scope(team=False, territory=False), _s("movement", 20), _s("currency", 3), _money("mrr_before"),
        _money("mrr_after"), Column("effective_on", Date, nullable=True), _at("occurred_at"),
        indexes=[("effective_on",), ("owner_id",)])
    t.targets = table(  # sales' quotas: owner_id is the user's whose target it is
        "targets", _id(), _s("period", 7), *_scope(), _money("amount"), _s("currency", 3), indexes=[("period",)])
    t.custom_fields = table(  # the custom field definitions the producers announced (record_changed, custom_field)
        "custom_fields", _id(), _s("resource", 40), _s("name", 40), _s("label", 200), _s("type", 20),
        Column("choices", JSON, nullable=True), Column("deleted", Boolean, nullable=False, default=False),
        indexes=[("resource", "name")])
    return t
