"""What a scoring rule means: its condition checked against its kind, matched against a lead, and the
points it gives with decay. Pure functions (no session), so the rules are tested without a database.

Attribute conditions are leaves `{"field", "op", "value"}` over marketing's copy of the lead, or `{"all":
[...]}` / `{"any": [...]}` of them; text compares without regard to case. Behaviour conditions are
`{"behaviour": kind, "ref_id"?: id, "within_days"?: n, "where"?: leaf}`: `where` is a leaf whose `field` is
a path in the activity's detail (`fields.budget` or `budget`: a form's answers are looked up under
`fields` first), e.g. the answer a form field got.

Decay is linear: an occurrence `age` days old is worth `points * (1 - age / decay_days)`, nothing once
`decay_days` have passed (a click last week counts, a click last year does not); a rule without
`decay_days` does not decay. At most `max_occurrences` occurrences count (the most recent: the least
decayed), 10 when the rule does not say.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_marketing_contracts import scoring as c
from crm_common.errors import validation

DEFAULT_MAX_OCCURRENCES = 10
MAX_LEAVES, MAX_DEPTH, MAX_VALUES = 50, 3, 500
LIST_OPS, VALUELESS_OPS = ("in", "not_in"), ("exists", "not_exists")
TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with")
BEHAVIOUR_KEYS = ("behaviour", "ref_id", "within_days", "where")


# -- checking a condition against its kind (422 naming the problem) ---------------------------------

def check(kind: str, condition: dict) -> None:
    """Raise a 422 (errors under `condition`) unless `condition` is well formed for a rule of `kind`."""
    problems: list[str] = []
    if not isinstance(condition, dict) or not condition:
        problems.append("a condition is a non-empty object")
    elif kind == "attribute":
        _check_attribute(condition, problems, depth=1, leaves=[0])
    else:
        _check_behaviour(condition, problems)
    if problems:
        raise validation({"condition": problems})


def _check_attribute(node, problems: list, depth: int, leaves: list) -> None:
    if not isinstance(node, dict):
        problems.append("each part of a condition is an object")
        return
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1 or not isinstance(node[groups[0]], list) or not node[groups[0]]:
            problems.append('a group is {"all": [conditions]} or {"any": [conditions]}, alone and not empty')
        elif depth >= MAX_DEPTH:
            problems.append(f"groups nest at most {MAX_DEPTH - 1} deep")
        else:
            for child in node[groups[0]]:
                _check_attribute(child, problems, depth + 1, leaves)
        return
    leaves[0] += 1
    if leaves[0] > MAX_LEAVES:
        if leaves[0] == MAX_LEAVES + 1:
            problems.append(f"a condition has at most {MAX_LEAVES} leaves")
        return
    _check_leaf(node, problems, c.ATTRIBUTES)


def _check_leaf(leaf: dict, problems: list, fields: tuple | None) -> None:
    unknown = sorted(set(leaf) - {"field", "op", "value"})
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)} (a leaf is {{field, op, value}})")
    field, op, value = leaf.get("field"), leaf.get("op"), leaf.get("value")
    if fields is not None and field not in fields:
        problems.append(f"field must be one of: {', '.join(fields)}")
    elif fields is None and not (isinstance(field, str) and 0 < len(field) <= 100):
        problems.append("field is the path of a detail value, e.g. fields.budget")
    if op not in c.OPS:
        problems.append(f"op must be one of: {', '.join(c.OPS)}")
    elif op in VALUELESS_OPS:
        if value is not None:
            problems.append(f"{op} takes no value")
    elif op in LIST_OPS:
        if not (isinstance(value, list) and 0 < len(value) <= MAX_VALUES and all(_scalar(v) for v in value)):
            problems.append(f"{op} takes a list of 1 to {MAX_VALUES} strings or numbers")
    elif op in TEXT_OPS:
        if not (isinstance(value, str) and 0 < len(value) <= 200):
            problems.append(f"{op} takes a text of 1 to 200 characters")
    elif not _scalar(value):
        problems.append(f"{op} takes a string, number or boolean")


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool)) and (not isinstance(value, str) or len(value) <= 200)


def _check_behaviour(condition: dict, problems: list) -> None:
    unknown = sorted(set(condition) - set(BEHAVIOUR_KEYS))
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)} (a behaviour condition is {{behaviour, ref_id?, "
                        "within_days?, where?}})")
    if condition.get("behaviour") not in c.BEHAVIOURS:
        problems.append(f"behaviour must be one of: {', '.join(c.BEHAVIOURS)}")
    ref = condition.get("ref_id")
    if ref is not None and not (isinstance(ref, str) and 0 < len(ref) <= 36):
        problems.append("ref_id is the id of a campaign, form, product... (up to 36 characters)")
    days = condition.get("within_days")
    if days is not None and not (isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 3650):
        problems.append("within_days is a whole number of days, 1 to 3650")
    if condition.get("where") is not None:
        if isinstance(condition["where"], dict):
            _check_leaf(condition["where"], problems, None)
        else:
            problems.append("where is a leaf {field, op, value} over the activity's detail")


# -- matching -----------------------------------------------------------------------------------------

def attributes_of(member) -> dict:
    """The values an attribute condition reads, from an AudienceMember."""
    email = member.email or ""
    return {"first_name": member.first_name, "last_name": member.last_name, "company": member.company,
            "title": member.title, "email_domain": email.rpartition("@")[2] or None, "country": member.country,
            "industry": member.industry, "grade": member.grade, "lifecycle_stage": member.lifecycle_stage,
            "lead_status": member.lead_status, "tags": list(member.tags or []), "campaign_id": member.campaign_id}


def matches(condition: dict, values: dict) -> bool:
    """Whether an attribute condition holds over `values` (attributes_of)."""
    if "all" in condition:
        return all(matches(child, values) for child in condition["all"])
    if "any" in condition:
        return any(matches(child, values) for child in condition["any"])
    return leaf_holds(condition, values.get(condition["field"]))


def _norm(value):
    return value.strip().casefold() if isinstance(value, str) else value


def leaf_holds(leaf: dict, actual) -> bool:
    """One leaf over one value (a list value, such as tags, holds when one of its items does)."""
    op, wanted = leaf["op"], leaf.get("value")
    if op in VALUELESS_OPS:
        present = actual not in (None, "", [])
        return present if op == "exists" else not present
    if op in ("ne", "not_in", "not_contains"):
        positive = {"ne": "eq", "not_in": "in", "not_contains": "contains"}[op]
        return not leaf_holds({**leaf, "op": positive}, actual)
    items = actual if isinstance(actual, list) else [actual]
    return any(_holds(op, _norm(item), wanted) for item in items if item is not None)


def _holds(op: str, actual, wanted) -> bool:
    if op == "eq":
        return actual == _norm(wanted)
    if op == "in":
        return actual in {_norm(v) for v in wanted}
    if not isinstance(actual, str):
        actual = str(actual).casefold()
    wanted = _norm(wanted)
    return {"contains": wanted in actual, "starts_with": actual.startswith(wanted),
            "ends_with": actual.endswith(wanted)}[op]


def detail_value(detail: dict, path: str):
    """A value of an activity's detail by dotted path; a form's answer by its name alone too."""
    for root in (detail, (detail or {}).get("fields")):
        node = root
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    return None


# -- points ---------------------------------------------------------------------------------------------

@dataclass
class Occurrence:
    kind: str
    ref_id: str | None
    detail: dict
    occurred_at: datetime


def behaviour_hits(rule, occurrences: list[Occurrence], now: datetime) -> list[Occurrence]:
    """The occurrences the rule counts: its behaviour (and ref, window, detail), newest first, capped."""
    condition = rule.condition
    found = [o for o in occurrences if o.kind == condition["behaviour"]
             and (condition.get("ref_id") is None or o.ref_id == condition["ref_id"])
             and (condition.get("within_days") is None
                  or (now - o.occurred_at).total_seconds() <= condition["within_days"] * 86400)
             and (condition.get("where") is None
                  or leaf_holds(condition["where"], detail_value(o.detail, condition["where"]["field"])))]
    found.sort(key=lambda o: o.occurred_at, reverse=True)
    return found[:rule.max_occurrences or DEFAULT_MAX_OCCURRENCES]


def decayed(points: int, decay_days: int | None, occurred_at: datetime, now: datetime) -> float:
    """One occurrence's points after linear decay."""
    if not decay_days:
        return float(points)
    age_days = max(0.0, (now - occurred_at).total_seconds() / 86400)
    return points * max(0.0, 1.0 - age_days / decay_days)


def describe(condition: dict) -> str:
    """A condition in words, for the explanation."""
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        return "(" + f" {'and' if key == 'all' else 'or'} ".join(describe(child) for child in condition[key]) + ")"
    if "behaviour" in condition:
        words = condition["behaviour"]
        if condition.get("ref_id"):
            words += f" of {condition['ref_id']}"
        if condition.get("where"):
            words += f" where {describe(condition['where'])}"
        if condition.get("within_days"):
            words += f" in the last {condition['within_days']} days"
        return words
    value = condition.get("value")
    shown = "" if condition["op"] in VALUELESS_OPS else (
        " " + ", ".join(map(str, value)) if isinstance(value, list) else f" {value}")
    return f"{condition['field']} {condition['op'].replace('_', ' ')}{shown}"


def explain(rules, values: dict, occurrences: list[Occurrence], now: datetime) -> tuple[int, list[dict]]:
    """(score, points): every rule that applies with its points, then a clamp entry when the sum left
    0..100; the entries' points sum to the score."""
    points: list[dict] = []
    for rule in rules:
        if rule.kind == "attribute":
            if matches(rule.condition, values):
                points.append({"rule_id": rule.id, "rule": rule.name, "points": rule.points,
                               "detail": describe(rule.condition)})
            continue
        hits = behaviour_hits(rule, occurrences, now)
        if not hits:
            continue
        worth = round(sum(decayed(rule.points, rule.decay_days, hit.occurred_at, now) for hit in hits))
        cap = rule.max_occurrences or DEFAULT_MAX_OCCURRENCES
        entry = {"rule_id": rule.id, "rule": rule.name, "points": worth,
                 "detail": f"{len(hits)} × {describe(rule.condition)}, {rule.points} each (at most {cap} count)"}
        if rule.decay_days and worth != rule.points * len(hits):
            entry["decayed_from"] = rule.points * len(hits)
            entry["detail"] += f", losing their value over {rule.decay_days} days"
        points.append(entry)
    total = sum(entry["points"] for entry in points)
    score = min(100, max(0, total))
    if score != total:
        points.append({"rule_id": None, "rule": "a score is 0 to 100", "points": score - total,
                       "detail": f"the rules gave {total}; the score is kept to 0..100"})
    return score, points
