"""A segment's rule tree: checked (every problem named by its path) and compiled to one SQL condition over
`audience_members` (behaviour as EXISTS subqueries over `audience_activity`), the same on SQLite and PostgreSQL.

Groups: `{"all": [...]}` / `{"any": [...]}` with 1 to MAX_ITEMS items, at most RULE_DEPTH levels.
Leaves:
- attribute `{"field": F, "op": OP, "value": V}`: text fields (kind, country, industry, grade, lifecycle_stage,
  lead_status, owner_id, campaign_id, account_id) take eq, ne, in, not_in (a list) and is_set (true/false);
  `ne` and `not_in` also match members without a value. `score` takes eq, ne, gt, gte, lt, lte (an integer).
  `tags` takes contains and not_contains (one tag).
- consent `{"field": "consent", "channel": "email"|"sms"|"phone", "op": "eq"|"ne", "value": S}` with S one of
  opted_in, opted_out, pending or none (no consent recorded on that channel).
- topic `{"field": "topic", "op": "subscribed"|"not_subscribed", "value": T}` with T one of sales' content
  topics (newsletter, product_updates, events, webinars): a contact subscribed to T in sales (any product);
  not_subscribed also matches leads.
- behaviour `{"behaviour": B, "ref_id"?: id, "within_days"?: 1..3650, "negate"?: bool}`: sent, opened,
  clicked, unsubscribed, bounced (ref_id: a campaign), form_submitted (a form), ticket_opened, ticket_solved
  (a ticket), survey_answered, bought (a product; orders are an account's, so a contact matches by its
  account and a lead never does), open_ticket / no_open_ticket (a ticket opened, or reopened, and neither
  solved nor closed since). Behaviour is matched by the member the activity was linked to.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Text, and_, cast, exists, not_, or_, select
from sqlalchemy.orm import aliased

from crm_common.db import utcnow
from crm_common.errors import validation
from crm_marketing.models import AudienceActivity, AudienceMember, AudienceTopic, Consent
from crm_marketing_contracts import BEHAVIOURS, CHANNELS, RULE_DEPTH, TOPICS
from crm_marketing_contracts.consents import STATUSES

MAX_ITEMS = 50
TEXT_FIELDS = ("kind", "country", "industry", "grade", "lifecycle_stage", "lead_status", "owner_id", "campaign_id",
               "account_id")
TEXT_OPS = ("eq", "ne", "in", "not_in", "is_set")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
TAG_OPS = ("contains", "not_contains")
CONSENT_VALUES = STATUSES + ("none",)
TOPIC_OPS = ("subscribed", "not_subscribed")
FIELDS = {**{name: TEXT_OPS for name in TEXT_FIELDS}, "score": NUMBER_OPS, "tags": TAG_OPS, "consent": ("eq", "ne"),
          "topic": TOPIC_OPS}
KIND_OF = {"sent": "email_sent", "opened": "email_opened", "clicked": "email_clicked", "unsubscribed": "unsubscribed",
           "bounced": "bounced", "form_submitted": "form_submitted", "ticket_opened": "ticket_opened",
           "ticket_solved": "ticket_solved", "survey_answered": "survey_answered", "bought": "order_placed"}
TICKET_ENDED = ("ticket_solved",)  # a closed ticket is recorded as ticket_solved (domain.audience.ticket)
MAX_DAYS = 3650


# -- checking -------------------------------------------------------------------------------------------

def check(rules, path: str = "rules") -> None:
    """Raise a 422 naming every problem of the tree by its path (`rules.all.0.op`)."""
    errors: dict[str, list[str]] = {}
    _check_group(rules, path, 1, errors)
    if errors:
        raise validation(errors)


def _add(errors: dict, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _check_group(node, path: str, depth: int, errors: dict) -> None:
    if not isinstance(node, dict) or set(node) not in ({"all"}, {"any"}):
        _add(errors, path, 'a group is {"all": [...]} or {"any": [...]}')
        return
    (key, items), = node.items()
    where = f"{path}.{key}"
    if depth > RULE_DEPTH:
        _add(errors, where, f"groups nest at most {RULE_DEPTH} levels deep")
        return
    if not isinstance(items, list) or not items:
        _add(errors, where, "a list of 1 or more rules")
        return
    if len(items) > MAX_ITEMS:
        _add(errors, where, f"at most {MAX_ITEMS} rules in a group")
        return
    for index, item in enumerate(items):
        _check_node(item, f"{where}.{index}", depth, errors)


def _check_node(node, path: str, depth: int, errors: dict) -> None:
    if isinstance(node, dict) and set(node) in ({"all"}, {"any"}):
        _check_group(node, path, depth + 1, errors)
    elif isinstance(node, dict) and "behaviour" in node:
        _check_behaviour(node, path, errors)
    elif isinstance(node, dict) and "field" in node:
        _check_attribute(node, path, errors)
    else:
        _add(errors, path, "a group (all/any), an attribute rule (field, op, value) or a behaviour rule (behaviour)")


def _unknown_keys(node: dict, allowed: set, path: str, errors: dict) -> None:
    for key in sorted(set(node) - allowed):
        _add(errors, f"{path}.{key}", "unknown key")


def _is_text(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_attribute(node: dict, path: str, errors: dict) -> None:
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    _unknown_keys(node, {"field", "op", "value"} | ({"channel"} if name == "consent" else set()), path, errors)
    if name not in FIELDS:
        _add(errors, f"{path}.field", f"one of: {', '.join(FIELDS)}")
        return
    if op not in FIELDS[name]:
        _add(errors, f"{path}.op", f"{name} takes one of: {', '.join(FIELDS[name])}")
        return
    if "value" not in node:
        _add(errors, f"{path}.value", "missing")
        return
    if name == "consent":
        if node.get("channel") not in CHANNELS:
            _add(errors, f"{path}.channel", f"one of: {', '.join(CHANNELS)}")
        if value not in CONSENT_VALUES:
            _add(errors, f"{path}.value", f"one of: {', '.join(CONSENT_VALUES)}")
    elif name == "topic":
        if value not in TOPICS:
            _add(errors, f"{path}.value", f"one of: {', '.join(TOPICS)}")
    elif name == "score":
        if not _is_int(value) or abs(value) > 10**9:
            _add(errors, f"{path}.value", "an integer")
    elif op == "is_set":
        if not isinstance(value, bool):
            _add(errors, f"{path}.value", "true or false")
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not 1 <= len(value) <= 500 or not all(_is_text(v) for v in value):
            _add(errors, f"{path}.value", "a list of 1 to 500 texts (each at most 200 characters)")
    elif not _is_text(value):
        _add(errors, f"{path}.value", "a text of 1 to 200 characters")


def _check_behaviour(node: dict, path: str, errors: dict) -> None:
    _unknown_keys(node, {"behaviour", "ref_id", "within_days", "negate"}, path, errors)
    if node["behaviour"] not in BEHAVIOURS:
        _add(errors, f"{path}.behaviour", f"one of: {', '.join(BEHAVIOURS)}")
    if "ref_id" in node and not (isinstance(node["ref_id"], str) and 0 < len(node["ref_id"]) <= 36):
        _add(errors, f"{path}.ref_id", "the id of a campaign, form, product or ticket (at most 36 characters)")
    if "within_days" in node and not (_is_int(node["within_days"]) and 1 <= node["within_days"] <= MAX_DAYS):
        _add(errors, f"{path}.within_days", f"an integer from 1 to {MAX_DAYS}")
    if "negate" in node and not isinstance(node["negate"], bool):
        _add(errors, f"{path}.negate", "true or false")


# -- compiling -----------------------------------------------------------------------------------------

def condition(rules: dict, now: datetime | None = None):
    """The SQL condition over AudienceMember of a checked rule tree (behaviour windows end at `now`)."""
    return _node(rules, now or utcnow())


def _node(node: dict, now: datetime):
    if "all" in node:
        return and_(*[_node(item, now) for item in node["all"]])
    if "any" in node:
        return or_(*[_node(item, now) for item in node["any"]])
    if "behaviour" in node:
        clause = _behaviour(node, now)
        return not_(clause) if node.get("negate") else clause
    return _attribute(node)


def _attribute(node: dict):
    name, op, value = node["field"], node["op"], node["value"]
    if name == "consent":
        return _consent(node["channel"], op, value)
    if name == "tags":
        return _tags(op, value)
    if name == "topic":
        return _topic(op, value)
    column = getattr(AudienceMember, name)
    if op == "eq":
        return column == value
    if op == "ne":
        return or_(column.is_(None), column != value)
    if op == "in":
        return column.in_(value)
    if op == "not_in":
        return or_(column.is_(None), column.not_in(value))
    if op == "is_set":
        return column.is_not(None) if value else column.is_(None)
    return {"gt": column > value, "gte": column >= value, "lt": column < value, "lte": column <= value}[op]


def _tags(op: str, tag: str):
    escaped = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = cast(AudienceMember.tags, Text).like(f"%{escaped}%", escape="\\")
    if op == "contains":
        return and_(AudienceMember.tags.is_not(None), found)
    return or_(AudienceMember.tags.is_(None), not_(found))


def _topic(op: str, topic: str):
    clause = and_(AudienceMember.kind == "contact", exists(select(AudienceTopic.id).where(
        AudienceTopic.contact_id == AudienceMember.source_id, AudienceTopic.topic == topic,
        AudienceTopic.subscribed.is_(True))))
    return clause if op == "subscribed" else not_(clause)


def _consent(channel: str, op: str, value: str):
    on_channel = [Consent.email_hash == AudienceMember.email_hash, Consent.channel == channel]
    if value == "none":
        clause = ~exists(select(Consent.id).where(*on_channel))
    else:
        clause = exists(select(Consent.id).where(*on_channel, Consent.status == value))
    return clause if op == "eq" else not_(clause)


def _behaviour(node: dict, now: datetime):
    name = node["behaviour"]
    if name in ("open_ticket", "no_open_ticket"):
        clause = _open_ticket(node, now)
        return clause if name == "open_ticket" else not_(clause)
    activity = AudienceActivity
    if name == "bought":  # an account's orders: its contacts bought
        who = and_(AudienceMember.account_id.is_not(None), activity.account_id == AudienceMember.account_id)
    else:
        who = activity.member_id == AudienceMember.id
    where = [who, activity.kind == KIND_OF[name]]
    if node.get("ref_id"):
        where.append(activity.ref_id == node["ref_id"])
    if node.get("within_days"):
        where.append(activity.occurred_at >= now - timedelta(days=node["within_days"]))
    return exists(select(activity.id).where(*where))


def _open_ticket(node: dict, now: datetime):
    opened, ended = aliased(AudienceActivity), aliased(AudienceActivity)
    where = [opened.member_id == AudienceMember.id, opened.kind == "ticket_opened"]
    if node.get("ref_id"):
        where.append(opened.ref_id == node["ref_id"])
    if node.get("within_days"):
        where.append(opened.occurred_at >= now - timedelta(days=node["within_days"]))
    since = exists(select(ended.id).where(ended.kind.in_(TICKET_ENDED), ended.ref_id == opened.ref_id,
                                          ended.occurred_at >= opened.occurred_at))
    return exists(select(opened.id).where(*where, ~since))
