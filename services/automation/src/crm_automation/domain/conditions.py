"""Conditions of a workflow over the record and the event: `{all | any: [{field, op, value} | nested]}`.

A field is a dotted path into the run's context: `status` (the record's field), `record.owner_id`,
`previous.status` (the value before this change), `event.type`, `changed_fields`. Every leaf's result is
logged (field, op, value, the actual value, result) so the run log says why a rule did or did not fire.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "empty", "not_empty", "changed", "unchanged")
NO_VALUE = ("empty", "not_empty", "changed", "unchanged")
ROOTS = ("record", "previous", "event", "changed_fields", "trigger_record")
MAX_DEPTH = 5


def lookup(context: dict, path: str):
    """The value at `path` in the run's context (a bare name is a field of the record)."""
    parts = path.split(".")
    if parts[0] not in ROOTS:
        parts = ["record", *parts]
    value = context
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


NUMERIC = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str) or not NUMERIC.fullmatch(value):  # a name is no number (no exception raised)
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(actual, expected, op: str) -> bool:
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        if actual is None or expected is None:
            return False
        a, b = str(actual), str(expected)
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def _equal(actual, expected) -> bool:
    if actual == expected:
        return True
    a, b = _number(actual), _number(expected)
    return a is not None and b is not None and a == b


def test(op: str, actual, expected, context: dict, field: str) -> bool:
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(actual, expected, op)
    if op == "in":
        return any(_equal(actual, item) for item in (expected or []))
    if op == "not_in":
        return not any(_equal(actual, item) for item in (expected or []))
    if op == "contains":
        if isinstance(actual, (list, tuple)):
            return expected in actual
        return isinstance(actual, str) and str(expected).lower() in actual.lower()
    if op == "empty":
        return actual in (None, "", [], {})
    if op == "not_empty":
        return actual not in (None, "", [], {})
    if op == "changed":
        name = field.split(".")[-1]
        return name in (context.get("changed_fields") or [])
    if op == "unchanged":  # the same as when the run was triggered (after a wait: nobody touched it)
        name = field.split(".")[-1]
        before = context.get("trigger_record") or {}
        if name in before:
            return _equal(actual, before[name])
        # a field the triggering event did not carry (updated_at): not later than the event itself
        occurred = (context.get("event") or {}).get("occurred_at")
        return actual is None or occurred is None or str(actual) <= str(occurred)
    raise ValueError(f"unknown op {op}")


def evaluate(conditions: dict | None, context: dict) -> tuple[bool, list[dict]]:
    """Whether the conditions hold, and the result of each leaf (in order)."""
    results: list[dict] = []
    if not conditions:
        return True, results
    return _node(conditions, context, results), results


def compiled(conditions: dict | None):
    """`evaluate` made ready for one conditions tree (the intake's, once per generation of the definitions):
    `check(context) -> (met, results)`, the same results; each leaf's path split, and an `eq`/`ne` against a
    text that is no number compared as it is, once and for all."""
    if not conditions:
        return lambda context: (True, [])
    node = _compile(conditions)

    def check(context: dict) -> tuple[bool, list[dict]]:
        results: list[dict] = []
        return node(context, results), results
    return check


def _compile(node: dict):
    for key, combine in (("all", all), ("any", any)):
        if key in node:
            children = [_compile(child) for child in node[key]]
            if len(children) == 1:  # all or any of one condition: its own result (a leaf's is a bool)
                return children[0]

            def branch(context, results, children=children, combine=combine):
                return combine([child(context, results) for child in children])  # every leaf logged
            return branch
    field, op, value = node["field"], node["op"], node.get("value")
    parts = field.split(".")
    path = tuple(parts if parts[0] in ROOTS else ["record", *parts])
    plain_text = op in ("eq", "ne") and isinstance(value, str) and _number(value) is None
    negate = op == "ne"

    def leaf(context, results):
        actual = context
        for part in path:
            if not isinstance(actual, dict):
                actual = None
                break
            actual = actual.get(part)
        if plain_text:  # _equal: a text that is no number equals only itself
            result = (actual == value) is not negate
        else:
            result = test(op, actual, value, context, field)
        results.append({"field": field, "op": op, "value": value,
                        "actual": actual if isinstance(actual, _PLAIN) else str(actual), "result": result})  # _plain
        return result
    return leaf


def why_not(results: list[dict]) -> str:
    """The leaves that failed, for the run log."""
    failed = [f"{r['field']} {r['op']} {r['value']!r} (was {r['actual']!r})" for r in results if not r["result"]]
    return "; ".join(failed) or "none held"


def _node(node: dict, context: dict, results: list) -> bool:
    if "all" in node:
        outcomes = [_node(child, context, results) for child in node["all"]]
        return all(outcomes)
    if "any" in node:
        outcomes = [_node(child, context, results) for child in node["any"]]
        return any(outcomes)
    actual = lookup(context, node["field"])
    result = test(node["op"], actual, node.get("value"), context, node["field"])
    results.append({"field": node["field"], "op": node["op"], "value": node.get("value"), "actual": _plain(actual),
                    "result": result})
    return result


_PLAIN = (str, int, float, bool, type(None), list, dict)


def _plain(value):
    return value if isinstance(value, _PLAIN) else str(value)


def errors(node, path: str = "conditions", depth: int = 0) -> dict:
    """What is wrong with a conditions tree ({} when it is well formed), keyed by where."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        return {path: ["must be an object: {all: [...]}, {any: [...]} or {field, op, value}"]}
    if depth > MAX_DEPTH:
        return {path: [f"nested more than {MAX_DEPTH} levels"]}
    for key in ("all", "any"):
        if key in node:
            children = node[key]
            if set(node) != {key} or not isinstance(children, list) or not children:
                return {path: [f"{key} takes a non-empty list and nothing beside it"]}
            found: dict = {}
            for i, child in enumerate(children):
                found.update(errors(child, f"{path}.{key}.{i}", depth + 1))
            return found
    if not isinstance(node.get("field"), str) or not node.get("field"):
        return {f"{path}.field": ["a field name is required"]}
    if node.get("op") not in OPS:
        return {f"{path}.op": [f"must be one of {', '.join(OPS)}"]}
    if set(node) - {"field", "op", "value"}:
        return {path: ["a condition takes field, op and value only"]}
    if node["op"] not in NO_VALUE and "value" not in node:
        return {f"{path}.value": ["a value is required for this op"]}
    if node["op"] in ("in", "not_in") and not isinstance(node.get("value"), list):
        return {f"{path}.value": ["must be a list"]}
    return {}
