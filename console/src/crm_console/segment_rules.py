"""A segment's rules as rows of a form and back: one `all`/`any` group of leaves, each row a field (an audience
attribute, consent on a channel, a topic, or a behaviour), an operator, a value and, for a behaviour, a window
in days. The API checks the tree (crm_marketing's segment rules) and names each problem by its path; nested
groups made through the API are kept as they are when the rows are saved."""
from __future__ import annotations

from crm_console.vocabulary import N_

ATTRIBUTES = {"country": N_("Country"), "industry": N_("Industry"), "grade": N_("Grade"),
              "lifecycle_stage": N_("Lifecycle"), "lead_status": N_("Lead status"), "kind": N_("Lead or contact"),
              "score": N_("Score"), "tags": N_("Tags"), "topic": N_("Topic")}
CHANNELS = {"email": N_("Email consent"), "sms": N_("SMS consent"), "phone": N_("Phone consent")}
BEHAVIOURS = {"opened": N_("Opened an email"), "clicked": N_("Clicked in an email"), "sent": N_("Was sent an email"),
              "unsubscribed": N_("Unsubscribed"), "bounced": N_("Bounced"), "form_submitted": N_("Submitted a form"),
              "bought": N_("Bought"), "ticket_opened": N_("Opened a service request"),
              "ticket_solved": N_("Had a service request solved"), "survey_answered": N_("Answered a survey"),
              "open_ticket": N_("Has an open service request"),
              "no_open_ticket": N_("Has no open service request")}
OPS = {"eq": N_("is"), "ne": N_("is not"), "in": N_("is one of"), "not_in": N_("is none of"),
       "gt": N_("is more than"), "gte": N_("is at least"), "lt": N_("is less than"), "lte": N_("is at most"),
       "contains": N_("contains"), "not_contains": N_("does not contain"), "is_set": N_("is filled in"),
       "subscribed": N_("subscribed to"), "not_subscribed": N_("not subscribed to")}
ROW_FIELDS = ("field", "op", "value", "days")
MAX_ROWS = 50


def blank(index: int) -> dict:
    return {"index": index, "field": "country", "op": "eq", "value": "", "days": ""}


def rows_of_form(form) -> list[dict]:
    indexes = sorted({int(key.split("-")[1]) for key in form if key.startswith("rule-")
                      and key.split("-")[1].isdigit()})[:MAX_ROWS]
    return [{"index": n, **{f: form.get(f"rule-{n}-{f}", "").strip() for f in ROW_FIELDS}} for n in indexes]


def rule_of(row: dict) -> dict:
    """One row as the API's leaf; values as typed (the API says what is wrong, by the rule's path)."""
    field, op, value = row["field"], row["op"], row["value"]
    if field.startswith("behaviour:"):
        rule: dict = {"behaviour": field.split(":", 1)[1]}
        if row["days"]:
            rule["within_days"] = int(row["days"]) if row["days"].isdigit() else row["days"]
        if op == "ne":
            rule["negate"] = True
        return rule
    if field.startswith("consent:"):
        return {"field": "consent", "channel": field.split(":", 1)[1], "op": op, "value": value}
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": [part.strip() for part in value.split(",") if part.strip()]}
    if op == "is_set":
        return {"field": field, "op": op, "value": value.lower() not in ("false", "no", "0", "否")}
    if field == "score" and value.lstrip("-").isdigit():
        return {"field": field, "op": op, "value": int(value)}
    return {"field": field, "op": op, "value": value}


def used_rows(rows: list[dict]) -> list[dict]:
    """The rows that say something (a behaviour, or a value, or an is-filled-in test)."""
    return [r for r in rows if r["field"].startswith("behaviour:") or r["value"] or r["op"] == "is_set"]


def tree(combine: str, rows: list[dict], kept_groups: list[dict]) -> dict:
    return {"any" if combine == "any" else "all": [rule_of(r) for r in rows] + kept_groups}


def split(rules: dict | None) -> tuple[str, list[dict], list[dict]]:
    """A stored tree as (all/any, rows for its leaves, the nested groups kept as they are)."""
    if not isinstance(rules, dict) or len(rules) != 1:
        return "all", [], []
    (combine, items), = rules.items()
    rows, groups = [], []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if "all" in item or "any" in item:
            groups.append(item)
            continue
        rows.append({"index": len(rows), **_row(item)})
    return combine, rows, groups


def _row(rule: dict) -> dict:
    if "behaviour" in rule:
        return {"field": f"behaviour:{rule['behaviour']}", "op": "ne" if rule.get("negate") else "eq",
                "value": "", "days": str(rule.get("within_days") or "")}
    value = rule.get("value")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    field = f"consent:{rule.get('channel')}" if rule.get("field") == "consent" else str(rule.get("field") or "")
    return {"field": field, "op": str(rule.get("op") or "eq"), "value": "" if value is None else str(value),
            "days": ""}


def named(errors: dict, rows: list[dict]) -> dict:
    """The API's `rules.all.<i>.<part>` named by the form's rule ("Rule 2 · value"), the rest as they came."""
    from flask_babel import gettext as _
    out: dict = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) >= 3 and parts[0] == "rules" and parts[2].isdigit() and int(parts[2]) < len(rows):
            key = _("Rule %(n)s · %(part)s", n=rows[int(parts[2])]["index"] + 1, part=".".join(parts[3:]) or "")
        out.setdefault(key, []).extend(messages)
    return out
